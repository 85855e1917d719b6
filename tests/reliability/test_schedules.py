"""Schedules on real processes: two workers never run a tick twice; killing a worker, the web, then every
worker, loses no schedule and doubles no run, and the downtime costs one catch-up run, not a storm.

The web app and the workers are separate OS processes (uvicorn, `scrapestream worker`), SIGKILLed as
in a crash. Runs are counted from the owner's activity stream and listed with `GET /jobs?schedule=`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import datetime
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.process import web_process
from tests.support.schedule_runs import RunWatch
from tests.support.worker_process import worker_process

EVERY_S = 1


def tick_ms(run: dict[str, Any]) -> int:
    return int(datetime.fromisoformat(run["scheduled_for"]).timestamp() * 1000)


async def run_ticks(client: httpx.AsyncClient, schedule_id: str) -> list[int]:
    """The tick of every run of the schedule (a tick twice would be a run made twice)."""
    response = await client.get("/jobs", params={"schedule": schedule_id, "limit": 100})
    assert response.status_code == 200, response.text
    runs = response.json()["jobs"]
    assert {run["schedule"] for run in runs} <= {schedule_id}
    return [tick_ms(run) for run in runs]


def no_tick_twice(ticks: list[int]) -> None:
    doubled = [tick for tick, count in Counter(ticks).items() if count > 1]
    assert doubled == [], f"ticks run more than once: {doubled}"


@pytest.mark.timeout(300)
async def test_two_workers_and_restarts_run_each_tick_once_with_one_catch_up(settings: WebSettings,
                                                                             site: str) -> None:
    settings = settings.model_copy(update={"schedule_min_every_s": 1})
    redis = Redis.from_url(settings.redis_url)
    watch = RunWatch(redis, Keyspace(settings.key_prefix))
    try:
        # Idle connections are dropped by the client before the server's keep-alive timeout (5 s) can
        # close one as a request goes out on it ("Server disconnected without sending a response").
        limits = httpx.Limits(keepalive_expiry=1)
        async with web_process(settings) as web, httpx.AsyncClient(base_url=web.base_url, timeout=30,
                                                                    limits=limits) as client:
            made = await client.post("/schedules", json={"every_s": EVERY_S, "job": {"url": f"{site}/plain"}})
            assert made.status_code == 201, made.text
            schedule_id = made.json()["id"]
            async with worker_process(settings) as first, worker_process(settings):
                # Both workers' tickers race for every tick.
                await watch.until(schedule_id, 5)
                no_tick_twice(await run_ticks(client, schedule_id))

                # A worker and the web die mid-schedule: the other worker goes on, the new web serves it all.
                await first.kill()
                web.kill()
                await web.start()
                await watch.more(schedule_id, 3)
                no_tick_twice(await run_ticks(client, schedule_id))
                assert (await client.get(f"/schedules/{schedule_id}")).json()["runs"] >= 8
            # Every worker is gone (the second one too, killed on leaving the block): nothing runs.
            ticks = await run_ticks(client, schedule_id)
            no_tick_twice(ticks)
            last_tick = max(ticks)
            # The downtime this test is about: several ticks go by with no worker. What must pass here is
            # time itself, not a state, so this waits on the clock (it asserts nothing about time).
            await asyncio.sleep(max(0.0, (last_tick + 4_000 * EVERY_S) / 1000 - time.time()))
            restarted_ms = int(time.time() * 1000)
            async with worker_process(settings), worker_process(settings):
                await watch.more(schedule_id, 3)
                after = await run_ticks(client, schedule_id)
        no_tick_twice(after)
        # The ticks missed while no worker ran make one catch-up run between them, not one each.
        caught_up = [tick for tick in after if last_tick < tick < restarted_ms]
        assert len(caught_up) == 1, (last_tick, restarted_ms, sorted(after))
        # And the schedule then goes on from now, at its cadence.
        assert len([tick for tick in after if tick >= restarted_ms]) >= 2
        assert len(after) >= watch.runs[schedule_id]  # every run seen on the activity stream is listed
    finally:
        await redis.aclose()
