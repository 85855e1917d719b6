"""Events per second one worker process publishes (atomic XADD + state + EXPIRE, one Lua call each).

    .venv/bin/python bench/publish.py [--jobs 32] [--events 20000]

Starts redis-server; `--jobs` concurrent publishers in one process (as a worker
running that many jobs) append `progress` events to their own job's stream
through `streams.publish.append_events`, one event per call, then batched three
per call (as a scrape publishes). Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop
from redis.asyncio import BlockingConnectionPool, Redis

from bench._harness import machine, redis_server
from streams.keys import Keyspace
from streams.publish import PendingEvent, StreamLimits, append_events, create_stream

KEYS = Keyspace("ss")
LIMITS = StreamLimits(maxlen=10_000, ttl_s=3600)


async def run(redis: Redis, jobs: int, events: int, per_call: int) -> float:
    ids = [uuid.uuid4().hex for _ in range(jobs)]
    for job_id in ids:
        await create_stream(redis, KEYS.events(job_id), KEYS.record(job_id),
                            PendingEvent.make("queued", {}, {"id": job_id}), limits=LIMITS)
    calls = events // jobs // per_call

    async def publisher(job_id: str) -> None:
        for n in range(calls):
            batch = [PendingEvent.make("progress", {"phase": "fetch", "percent": n % 100, "message": "bench"},
                                       {"percent": n % 100}) for _ in range(per_call)]
            await append_events(redis, KEYS.events(job_id), KEYS.record(job_id), batch, limits=LIMITS)

    started = time.perf_counter()
    await asyncio.gather(*(publisher(job_id) for job_id in ids))
    return calls * per_call * jobs / (time.perf_counter() - started)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=32)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as url:
        # As a worker: REDIS_MAX_CONNECTIONS (3) pooled connections.
        redis = Redis(connection_pool=BlockingConnectionPool.from_url(url, max_connections=3))
        for per_call in (1, 3):
            rate = await run(redis, args.jobs, args.events, per_call)
            print(f"{args.jobs} jobs publishing at once, {per_call} event(s) per call: {rate:,.0f} events/s")
        await redis.aclose()


if __name__ == "__main__":
    uvloop.run(main())
