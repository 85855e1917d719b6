"""A scrape behind a deep queue of batches, on one worker that takes every kind: submit → started.

    .venv/bin/python bench/kinds.py [--deep 100] [--slots 8] [--page-ms 200] [--trials 5]

Starts redis-server, one web process, one worker process of `--slots` slots
and a loopback page that answers after `--page-ms`. `--deep` batch jobs (one
slow page each) are queued first; then, one at a time, `--trials` scrapes are
submitted behind them, then one more batch. Each one's submit → `started` is
printed: the batch waits its turn in its kind's queue (what every job did
when one queue held every kind: about deep * page / slots), a scrape takes
the next slot that frees (slots are dealt fairly between kinds,
`jobs/queue/lanes.py`). Prints figures only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import machine, page_server, percentile, redis_server, web_process, worker_processes
from bench.lean_http import LeanConnection
from bench.pickup import wait_for_workers
from streams.keys import Keyspace

KEYS = Keyspace()  # the processes the harness starts run with the default KEY_PREFIX


async def submit(conn: LeanConnection, body: dict[str, object]) -> str:
    status, answer = await conn.request("POST", "/jobs", orjson.dumps(body))
    assert status == 202, answer
    job_id: str = orjson.loads(answer)["id"]
    return job_id


async def until_started(conn: LeanConnection, redis: Redis, body: dict[str, object]) -> float:
    """Submit `body`; ms until its `started` event is in its stream."""
    begun = time.perf_counter_ns()
    key = KEYS.events(await submit(conn, body))
    last = "0-0"
    while True:
        for _key, entries in await redis.xread({key: last}, block=30_000) or ():
            for entry_id, fields in entries:
                last = entry_id.decode()
                if fields[b"type"] == b"started":
                    return (time.perf_counter_ns() - begun) / 1e6


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deep", type=int, default=100)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--page-ms", type=int, default=200)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as redis_url, page_server() as page, web_process(redis_url) as (base_url, _), \
            worker_processes(redis_url, 1, WORKER_CONCURRENCY=str(args.slots)):
        slow = page.replace("/product", f"/slow?ms={args.page_ms}")
        redis = Redis.from_url(redis_url)
        conn = await LeanConnection.open(base_url)
        await wait_for_workers(conn, 1)
        for n in range(args.deep):
            await submit(conn, {"type": "batch", "urls": [f"{slow}&n={n}"]})
        scrapes = [await until_started(conn, redis, {"type": "scrape", "url": page}) for _ in range(args.trials)]
        batch = await until_started(conn, redis, {"type": "batch", "urls": [f"{slow}&n=last"]})
        await conn.close()
        await redis.aclose()
    print(f"{args.deep} batches of one {args.page_ms} ms page queued, one worker of {args.slots} slots")
    print(f"{'submit -> started':34} {'p50 ms':>8} {'max ms':>8}")
    print(f"{'a scrape behind them':34} {percentile(scrapes, 50):>8.1f} {max(scrapes):>8.1f}   ({args.trials} trials)")
    # With one queue for every kind, the scrape would have waited as long as this batch does.
    print(f"{'one more batch behind them':34} {batch:>8.1f} {batch:>8.1f}   "
          f"(its turn: about {args.deep * args.page_ms / args.slots:.0f} ms)")


if __name__ == "__main__":
    uvloop.run(main())
