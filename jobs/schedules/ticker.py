"""The ticker: every due tick of every schedule submitted as one job, whatever the number of workers.

Each worker runs one ticker. It sleeps until the earliest due time in the due
set (at most `MAX_SLEEP_S`, for a wake message that pub/sub lost), and is woken
at once when a schedule is created, changed or deleted. The tickers of all the
workers wake together and take the due schedules in orders of their own, a few
at once; for each due schedule:

1. read the schedule; skip it if its `due_at` is no longer the score read (another
   worker advanced it, or a client changed it);
2. submit the run for its tick with the job id the tick decides
   (`StoredSchedule.run_id`): `submit_job` writes a job only if that id is free, so
   two workers, or one that died and the next, never make the tick's run twice;
3. advance the schedule, in one script, only if its score is still the one read:
   to its next tick, or, when even that one is past (no worker ran for a while), to the
   first tick after now, so a schedule that was due many times while no worker ran
   gets one catch-up run, not one per missed tick (`Cadence.tick_after_run`).

A worker dying between 2 and 3 leaves the tick due: the next ticker submits it
again (the id is taken: nothing is written) and advances it. Nothing is lost,
nothing doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import cast

from pydantic import ValidationError
from redis.asyncio import Redis

from jobs.lifecycle.submit import JobIdTaken, QueueConfig, ScheduledRun, submit_job
from jobs.models import REQUEST_MODELS, JobRequest
from jobs.schedules.store import StoredSchedule
from streams.events import now_ms
from streams.lua import LuaScript

logger = logging.getLogger("scrapestream.schedules")

# Longest sleep between two looks at the due set: covers a wake message pub/sub lost.
MAX_SLEEP_S = 60.0
# Schedules handled per look; more due than this are taken at the next look, at once.
BATCH = 100
# Due schedules submitted at once by one ticker: their round trips overlap, within the worker's Redis pool.
CONCURRENCY = 8

_ADVANCE = LuaScript(
    """
-- KEYS: due set, schedule hash
-- ARGV: schedule id, the due score read, next tick, next due, run job id, run tick
local score = redis.call("ZSCORE", KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call("ZADD", KEYS[1], ARGV[4], ARGV[1])
redis.call("HSET", KEYS[2], "next_tick", ARGV[3], "due_at", ARGV[4], "last_run_job", ARGV[5],
           "last_run_tick", ARGV[6])
redis.call("HINCRBY", KEYS[2], "runs", 1)
return 1
"""
)


async def fire_due(redis: Redis, config: QueueConfig, now: int) -> int | None:
    """Submit every run due by `now`; when the next one is due (ms), or None when no schedule is active."""
    keys = config.keys
    due = await redis.zrangebyscore(keys.schedules_due(), "-inf", now, start=0, num=BATCH, withscores=True)
    # Every ticker wakes at the same due time: each takes the due schedules in an order of its own, so
    # that they share the work instead of all racing for the same schedule first.
    random.shuffle(due)
    async with redis.pipeline(transaction=False) as pipe:
        for member, _score in due:
            pipe.hgetall(keys.schedule(member.decode()))
        raws: list[dict[bytes, bytes]] = await pipe.execute() if due else []
    slots = asyncio.Semaphore(CONCURRENCY)

    async def fire(schedule_id: str, score: int, raw: dict[bytes, bytes]) -> None:
        async with slots:
            await fire_one(redis, config, schedule_id, score, now, raw)

    await asyncio.gather(*(fire(member.decode(), int(score), raw) for (member, score), raw in zip(due, raws,
                                                                                                   strict=True)))
    if len(due) == BATCH:
        return now  # more are due: look again at once
    earliest = await redis.zrange(keys.schedules_due(), 0, 0, withscores=True)
    return int(earliest[0][1]) if earliest else None


async def fire_one(redis: Redis, config: QueueConfig, schedule_id: str, score: int, now: int,
                   raw: dict[bytes, bytes]) -> None:
    """Submit the due run of one schedule (at most once per tick), then move it to its next tick.

    `raw`: the schedule's hash, read after the due set was.
    """
    keys = config.keys
    schedule = StoredSchedule.from_hash(raw)
    if schedule is None:
        # Deleted between the two reads (its delete took it out of the set), or a hash gone by hand.
        await redis.zrem(keys.schedules_due(), schedule_id)
        return
    if schedule.paused or schedule.due_at != score:
        # Someone moved it on since the set was read (both are written by one script); should the two
        # ever disagree for good, the hash wins, or this would look at the same stale entry forever.
        if schedule.paused:
            await redis.zrem(keys.schedules_due(), schedule_id)
        else:
            await redis.zadd(keys.schedules_due(), {schedule_id: schedule.due_at}, xx=True)
        return
    tick = schedule.next_tick
    run_id = schedule.run_id(tick)
    await submit_run(redis, config, schedule, tick, run_id)
    next_tick = schedule.cadence.tick_after_run(tick, now)
    await _ADVANCE(redis, [keys.schedules_due(), keys.schedule(schedule_id)],
                   [schedule_id, score, next_tick, schedule.cadence.due_ms(schedule_id, next_tick), run_id, tick])


async def submit_run(redis: Redis, config: QueueConfig, schedule: StoredSchedule, tick: int, run_id: str) -> None:
    """The run of `tick` as an ordinary job of the schedule's owner; nothing if it was submitted already."""
    body = schedule.job
    model = REQUEST_MODELS.get(str(body.get("type", "scrape")))
    try:
        if model is None:
            raise ValueError(f"unknown job type {body.get('type')!r}")
        request = model.model_validate(body)
    except (ValidationError, ValueError):
        # Checked when the schedule was made; a body an upgrade no longer takes skips its runs, loudly.
        logger.exception("schedule %s: its job body is no longer valid; tick %s skipped", schedule.id, tick)
        return
    with contextlib.suppress(JobIdTaken):  # another worker (or this one, before a crash) submitted it
        await submit_job(redis, config, cast(JobRequest, request), owner=schedule.owner, job_id=run_id,
                         run_of=ScheduledRun(schedule.id, tick))


class ScheduleTicker:
    """One worker's ticker: fires due runs, sleeps until the next is due, wakes when a schedule changes."""

    def __init__(self, redis: Redis, config: QueueConfig) -> None:
        self.redis = redis
        self.config = config
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A schedule was created, changed or deleted (or the wake channel came back): look again now."""
        self._wake.set()

    async def run_forever(self) -> None:
        backoff = 0.1
        while True:
            self._wake.clear()
            try:
                next_due = await fire_due(self.redis, self.config, now_ms())
            except Exception:
                # Redis restarting, a network blip: keep the worker, try again shortly.
                logger.warning("schedule tick failed; retrying in %.1f s", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            backoff = 0.1
            wait_s = MAX_SLEEP_S if next_due is None else min(MAX_SLEEP_S, max(0.0, (next_due - now_ms()) / 1000))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()
