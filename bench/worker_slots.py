"""Submit → `started` for a burst that fills every slot of two workers (are all slots claimed at once?).

    .venv/bin/python bench/worker_slots.py [--slots 32] [--jobs 64]

Starts redis-server, one web process and two worker processes with `--slots`
slots each, and a loopback page that answers after 4 s, so every job holds its
slot. Submits `--jobs` scrapes back to back, then reads each job's `started`
(its `ts`, the publisher's clock). With slots enough for every job, all start
within the burst; a worker that left slots empty would start the rest 4 s
later, when the first ones end. Prints figures only.
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

from bench._harness import machine, percentile, redis_server, web_process, worker_processes
from bench.lean_http import LeanConnection
from streams.keys import Keyspace

KEYS = Keyspace()
HOLD_S = 4
PAGE = b"<!doctype html><html><head><title>Slow</title></head><body><main><p>A slow page.</p></main></body></html>"


async def serve_slow_page() -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(HOLD_S)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: %d\r\n"
                     b"connection: close\r\n\r\n%s" % (len(PAGE), PAGE))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/slow"


async def started_ts(redis: Redis, job_id: str) -> int:
    after = "0-0"
    while True:
        for _key, entries in await redis.xread({KEYS.events(job_id): after}, block=60_000) or ():
            for entry_id, fields in entries:
                after = entry_id.decode()
                if fields[b"type"] == b"started":
                    return int(orjson.loads(fields[b"data"])["ts"])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slots", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=64)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    server, page = await serve_slow_page()
    with redis_server() as redis_url, web_process(redis_url) as (base_url, _), \
            worker_processes(redis_url, 2, WORKER_CONCURRENCY=str(args.slots), ALLOWED_PORTS="*"):
        redis = Redis.from_url(redis_url)
        for _ in range(600):
            if await redis.zcard(KEYS.workers()) >= 2:
                break
            await asyncio.sleep(0.05)
        conn = await LeanConnection.open(base_url)
        first_submit_ms = time.time() * 1000
        ids = []
        for n in range(args.jobs):
            status, answer = await conn.request("POST", "/jobs", orjson.dumps(
                {"type": "scrape", "url": f"{page}?n={n}"}))
            assert status == 202, answer
            ids.append(orjson.loads(answer)["id"])
        await conn.close()
        waits = [(ts - first_submit_ms) for ts in await asyncio.gather(*(started_ts(redis, i) for i in ids))]
        await redis.aclose()
    server.close()
    print(f"{args.jobs} jobs of {HOLD_S} s, 2 workers x {args.slots} slots: first submit -> started "
          f"p50 {percentile(waits, 50):.0f} ms, p90 {percentile(waits, 90):.0f} ms, last {max(waits):.0f} ms")


if __name__ == "__main__":
    uvloop.run(main())
