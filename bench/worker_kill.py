"""SIGKILL a worker mid-job → the job's next `started` on another worker, with the default lease.

    .venv/bin/python bench/worker_kill.py [--rounds 5]

Starts redis-server, one web process and two worker processes (default
WORKER_LEASE_S and WORKER_POLL_S), and a loopback page that holds its first
request of each job until the client goes away (later ones answer at once).
Each round submits a job, waits for its `started`, waits a random part of a
heartbeat (so the kill lands anywhere between two lease renewals), SIGKILLs
the worker that runs it, and notes the `ts` of the job's next `started` (the
publisher's clock). A new worker replaces the killed one. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import _env, machine, percentile, redis_server, web_process
from bench.lean_http import LeanConnection
from jobs.settings import Settings
from jobs.worker.heartbeat import heartbeat_every_s
from streams.keys import Keyspace

KEYS = Keyspace()
DEFAULTS = Settings(_env_file=None)  # type: ignore[call-arg]
PAGE = b"<!doctype html><html><head><title>Held</title></head><body><main><p>Held page</p></main></body></html>"


async def serve_held_page() -> tuple[asyncio.Server, str]:
    """The first request of each `?key=` hangs until its client is gone; later ones get the page."""
    seen: set[bytes] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        key = head.split(b" ", 2)[1]
        if key not in seen:
            seen.add(key)
            await reader.read()  # EOF: the killed worker's connection closed
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: %d\r\n"
                         b"connection: close\r\n\r\n%s" % (len(PAGE), PAGE))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}/held"


def start_worker(redis_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], cwd=Path(__file__).parent.parent,
                            env=_env(redis_url, ALLOWED_PORTS="*"))


async def wait_until_live(redis: Redis, process: subprocess.Popen[bytes]) -> None:
    name = f"{os.uname().nodename}:{process.pid}"
    for _ in range(600):
        if await redis.zscore(KEYS.workers(), name) is not None:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("a worker did not come up")


async def next_started(redis: Redis, job_id: str, after: str) -> tuple[str, dict[str, object]]:
    while True:
        for _key, entries in await redis.xread({KEYS.events(job_id): after}, block=60_000) or ():
            for entry_id, fields in entries:
                after = entry_id.decode()
                if fields[b"type"] == b"started":
                    return after, orjson.loads(fields[b"data"])
                if fields[b"type"] in (b"completed", b"failed", b"cancelled"):
                    raise SystemExit(f"job {job_id} ended before it started again")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    renew_s = heartbeat_every_s(DEFAULTS.worker_lease_s)
    print(f"WORKER_LEASE_S={DEFAULTS.worker_lease_s:g} (renewed every {renew_s:g} s), "
          f"WORKER_POLL_S={DEFAULTS.worker_poll_s:g}")
    server, page = await serve_held_page()
    restarts: list[float] = []
    with redis_server() as redis_url, web_process(redis_url) as (base_url, _):
        redis = Redis.from_url(redis_url)
        workers = [start_worker(redis_url) for _ in range(2)]
        try:
            for process in workers:
                await wait_until_live(redis, process)
            for round_ in range(args.rounds):
                # A connection per round: uvicorn closes one left idle for 5 s.
                conn = await LeanConnection.open(base_url)
                status, answer = await conn.request("POST", "/jobs", orjson.dumps(
                    {"type": "scrape", "url": f"{page}?round={round_}"}))
                await conn.close()
                assert status == 202, answer
                job_id = orjson.loads(answer)["id"]
                last, first = await next_started(redis, job_id, "0-0")
                await asyncio.sleep(random.uniform(0, renew_s))
                doomed = next(p for p in workers if f"{os.uname().nodename}:{p.pid}" == first["worker"])
                killed_ms = time.time() * 1000
                doomed.send_signal(signal.SIGKILL)
                doomed.wait()
                _last, again = await next_started(redis, job_id, last)
                restarts.append((float(again["ts"]) - killed_ms) / 1000)  # type: ignore[arg-type]
                print(f"round {round_ + 1}: kill -> started (attempt {again['attempt']}) {restarts[-1]:.2f} s")
                workers.remove(doomed)
                workers.append(start_worker(redis_url))
                await wait_until_live(redis, workers[-1])
        finally:
            for process in workers:
                process.terminate()
            for process in workers:
                process.wait(30)
            await redis.aclose()
    server.close()
    print(f"kill -> restart: min {min(restarts):.2f} s, p50 {percentile(restarts, 50):.2f} s, "
          f"max {max(restarts):.2f} s ({len(restarts)} kills)")


if __name__ == "__main__":
    uvloop.run(main())
