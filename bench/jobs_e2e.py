"""Scrape jobs end to end: 1,000 jobs against a loopback page, submit to last terminal event.

    .venv/bin/python bench/jobs_e2e.py [--jobs 1000] [--workers 1]

Starts redis-server, one web process, `--workers` worker processes and a
loopback product page. Submits every job over HTTP (a few keep-alive
connections), then waits on each job's stream with XREAD BLOCK until its
terminal event. Prints jobs per second; asserts nothing.
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

from bench._harness import machine, page_server, redis_server, web_process, worker_processes
from bench.lean_http import LeanConnection
from bench.pickup import KEYS, wait_for_workers


async def submit_all(base_url: str, page: str, jobs: int, connections: int = 8) -> list[str]:
    body = orjson.dumps({"type": "scrape", "url": page})
    ids: list[str] = []

    async def worker(count: int) -> None:
        conn = await LeanConnection.open(base_url)
        for _ in range(count):
            status, answer = await conn.request("POST", "/jobs", body)
            assert status == 202, answer
            ids.append(orjson.loads(answer)["id"])
        await conn.close()

    share = [jobs // connections + (1 if i < jobs % connections else 0) for i in range(connections)]
    await asyncio.gather(*(worker(n) for n in share))
    return ids


async def wait_terminal(redis: Redis, job_id: str) -> bytes:
    key, last = KEYS.events(job_id), "0-0"
    while True:
        for _key, entries in await redis.xread({key: last}, block=30_000) or ():
            for entry_id, fields in entries:
                last = entry_id.decode()
                if fields[b"type"] in (b"completed", b"failed", b"cancelled"):
                    return bytes(fields[b"type"])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as redis_url, page_server() as page, web_process(redis_url) as (base_url, _), \
            worker_processes(redis_url, args.workers, WORKER_CONCURRENCY="64"):
        redis = Redis.from_url(redis_url)
        conn = await LeanConnection.open(base_url)
        await wait_for_workers(conn, args.workers)
        await conn.close()
        await submit_all(base_url, page, 50)  # warm up
        started = time.perf_counter()
        ids = await submit_all(base_url, page, args.jobs)
        submitted = time.perf_counter() - started
        outcomes = [await wait_terminal(redis, job_id) for job_id in ids]
        elapsed = time.perf_counter() - started
        await redis.aclose()
    completed = outcomes.count(b"completed")
    print(f"{args.jobs} scrape jobs, {args.workers} worker process(es): all submitted in {submitted:.2f} s, "
          f"all ended in {elapsed:.2f} s ({args.jobs / elapsed:,.0f} jobs/s); completed {completed}, "
          f"other {args.jobs - completed}")


if __name__ == "__main__":
    uvloop.run(main())
