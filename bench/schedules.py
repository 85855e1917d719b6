"""Schedules on two workers: how late each run is submitted after its tick, that no tick runs twice, and what
an idle ticker costs Redis.

    .venv/bin/python bench/schedules.py [--schedules 200] [--seconds 10]

Starts redis-server, one web process (SCHEDULE_MIN_EVERY_S=1), two worker processes (as the Procfile runs
them) and a loopback page. Makes `--schedules` schedules of the same cron, `* * * * * *`, so all of them
are due at the same second, every second; then the same number with `jitter_s` 2, which spreads them over
two seconds. Each run's lag is its `queued` time minus its tick. Last, with one schedule due in an hour,
it counts the commands the idle workers send Redis. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import machine, page_server, percentile, redis_server, web_process, worker_processes
from streams.keys import Keyspace

# The processes the harness starts run with the default KEY_PREFIX, and no API key.
KEYS = Keyspace()
ENV = {"SCHEDULE_MIN_EVERY_S": "1", "AUTH_REQUIRED": "false", "ALLOW_PRIVATE_ADDRESSES": "true",
       "ALLOWED_PORTS": "*", "SCHEDULES_PER_KEY": "10000"}


def ms(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp() * 1000


async def wait_for_workers(client: httpx.AsyncClient, count: int) -> None:
    for _ in range(600):
        answer = await client.get("/health")
        if answer.status_code == 200 and answer.json()["workers"] >= count:
            return
        await asyncio.sleep(0.05)
    raise SystemExit("the workers did not come up")


async def runs_between(redis: Redis, since_id: str) -> list[tuple[str, str]]:
    """(schedule, job id) of every run queued on the activity stream after `since_id`."""
    runs = []
    for _entry_id, fields in await redis.xrange(KEYS.owner_activity("public"), f"({since_id}", "+"):
        record = orjson.loads(fields[b"data"])
        if fields[b"type"] == b"queued" and record.get("schedule") and record.get("attempt") == 0:
            runs.append((record["schedule"], record["id"]))
    return runs


async def phase(client: httpx.AsyncClient, redis: Redis, page: str, count: int, seconds: float,
                jitter_s: int) -> None:
    last = await redis.xrevrange(KEYS.owner_activity("public"), count=1)
    since = last[0][0].decode() if last else "0-0"
    made = []
    for _ in range(count):
        answer = await client.post("/schedules", json={"cron": "* * * * * *", "jitter_s": jitter_s,
                                                       "job": {"url": page, "formats": ["metadata"]}})
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    await asyncio.sleep(seconds)  # the bench runs for a while: that is what it measures
    for schedule_id in made:
        await client.delete(f"/schedules/{schedule_id}")
    runs = await runs_between(redis, since)
    lags, ticks = [], Counter()
    async with redis.pipeline(transaction=False) as pipe:
        for _schedule, job_id in runs:
            pipe.hmget(KEYS.record(job_id), ["scheduled_for", "created_at"])
        replies = await pipe.execute()
    for (schedule_id, _job), (tick, created) in zip(runs, replies, strict=True):
        ticks[(schedule_id, tick)] += 1
        lags.append(ms(created.decode()) - ms(tick.decode()))
    doubled = sum(1 for n in ticks.values() if n > 1)
    print(f"{count} schedules due at the same second, jitter_s {jitter_s}, {seconds:g} s: {len(runs)} runs, "
          f"{len(ticks)} distinct ticks, {doubled} ticks run twice")
    print(f"  lag tick -> queued: p50 {percentile(lags, 50):.0f} ms, p99 {percentile(lags, 99):.0f} ms, "
          f"max {max(lags):.0f} ms, min {min(lags):.0f} ms")


async def commands_per_s(redis: Redis, seconds: float) -> float:
    before = int((await redis.info("stats"))["total_commands_processed"])
    started = time.monotonic()
    await asyncio.sleep(seconds)
    after = int((await redis.info("stats"))["total_commands_processed"])
    return (after - before - 1) / (time.monotonic() - started)  # the second INFO counts itself


async def idle_cost(client: httpx.AsyncClient, redis: Redis, page: str, seconds: float) -> None:
    """What the tickers add to an idle service: nothing is due for an hour, so they sleep."""
    for _ in range(600):  # the runs of the phases before have all ended
        numbers = (await client.get("/queue")).json()
        if numbers["queued"]["total"] == 0 and numbers["running"] == 0:
            break
        await asyncio.sleep(0.5)
    without = await commands_per_s(redis, seconds)
    answer = await client.post("/schedules", json={"every_s": 3600, "job": {"url": page}})
    schedule_id = answer.json()["id"]
    await asyncio.sleep(2)  # its first run (at once) is done
    with_one = await commands_per_s(redis, seconds)
    await client.delete(f"/schedules/{schedule_id}")
    print(f"idle Redis commands/s, 2 workers and the web (heartbeats, leases, queue looks): "
          f"{without:.1f} with no schedule, {with_one:.1f} with one due in an hour")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as redis_url, page_server() as page, \
            web_process(redis_url, **ENV) as (base_url, _), worker_processes(redis_url, 2, **ENV):
        redis = Redis.from_url(redis_url)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            await wait_for_workers(client, 2)
            await phase(client, redis, page, args.schedules, args.seconds, jitter_s=0)
            await phase(client, redis, page, args.schedules, args.seconds, jitter_s=2)
            await idle_cost(client, redis, page, args.seconds)
        await redis.aclose()


if __name__ == "__main__":
    uvloop.run(main())
