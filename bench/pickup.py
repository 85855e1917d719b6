"""Submit → `queued` (the 202) and submit → `started` on an idle worker.

    .venv/bin/python bench/pickup.py [--jobs 300]

Starts redis-server, one web process, one worker process (as the Procfile runs
them) and a loopback page. Each job is submitted over HTTP; the bench watches
the job's stream with XREAD BLOCK and notes when `started` lands. One job at a
time, so the worker is idle when each one arrives. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import machine, page_server, percentile, redis_server, web_process, worker_processes
from bench.lean_http import LeanConnection
from streams.keys import Keyspace

# The processes the harness starts run with the default KEY_PREFIX.
KEYS = Keyspace()


async def wait_for_workers(conn: LeanConnection, count: int) -> None:
    for _ in range(200):
        status, body = await conn.request("GET", "/health")
        if status == 200 and orjson.loads(body)["workers"] >= count:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("no worker came up")


async def one_job(conn: LeanConnection, redis: Redis, page: str) -> tuple[float, float]:
    body = orjson.dumps({"type": "scrape", "url": page})
    started_ns = time.perf_counter_ns()
    status, answer = await conn.request("POST", "/jobs", body)
    accepted_ns = time.perf_counter_ns()
    assert status == 202, answer
    key = KEYS.events(orjson.loads(answer)["id"])
    last, started_at, done = "0-0", 0, False
    while not done:
        for _key, entries in await redis.xread({key: last}, block=10_000) or ():
            for entry_id, fields in entries:
                last = entry_id.decode()
                kind = fields[b"type"]
                if kind == b"started" and not started_at:
                    started_at = time.perf_counter_ns()
                done = done or kind in (b"completed", b"failed", b"cancelled")
    return (accepted_ns - started_ns) / 1e6, (started_at - started_ns) / 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=300)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as redis_url, page_server() as page, web_process(redis_url) as (base_url, _), \
            worker_processes(redis_url, 1):
        redis = Redis.from_url(redis_url)
        conn = await LeanConnection.open(base_url)
        await wait_for_workers(conn, 1)
        for _ in range(20):
            await one_job(conn, redis, page)  # warm up both processes
        accepted, started = [], []
        for _ in range(args.jobs):
            a, s = await one_job(conn, redis, page)
            accepted.append(a)
            started.append(s)
        await conn.close()
        await redis.aclose()
    print(f"{'':28} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}   ({args.jobs} jobs, one at a time)")
    for label, values in (("submit -> 202 (queued)", accepted), ("submit -> started", started)):
        print(f"{label:28} {percentile(values, 50):>7.2f} {percentile(values, 99):>7.2f} {max(values):>7.2f}")


if __name__ == "__main__":
    uvloop.run(main())
