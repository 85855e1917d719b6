"""Schedules in Redis: a hash per schedule, the owner's index (its size is the per-key cap), and the due set.

A schedule lives until it is deleted (no expiry): it must outlive every
process. The due set (`Keyspace.schedules_due`) holds every active schedule,
scored by when its next run is due; the ticker (`jobs.schedules.ticker`) claims
ticks from it. Its hash keeps the tick that due time is for (`next_tick`) and
the time itself (`due_at`), so a ticker that read the set can tell whether the
schedule has moved on since.

Every change is one script, and is announced on the wake channel (`schedule`),
so that the tickers sleeping until the next due time look again.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis.asyncio import Redis

from jobs.models import without_secrets
from jobs.schedules.timing import Cadence, iso_ms
from jobs.store.listing import parse_cursor
from streams.events import now_ms
from streams.keys import Keyspace
from streams.lua import LuaScript

WAKE_MESSAGE = b"schedule"

_CREATE = LuaScript(
    """
-- KEYS: schedule hash, owner's schedule index, due set
-- ARGV: cap, schedule id, created ms, due ms, field, value, ...
if redis.call("ZCARD", KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call("HSET", KEYS[1], unpack(ARGV, 5))
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[2])
redis.call("ZADD", KEYS[3], ARGV[4], ARGV[2])
return 1
"""
)

_UPDATE = LuaScript(
    """
-- KEYS: schedule hash, due set
-- ARGV: schedule id, due ms ("": paused, out of the due set), field, value, ...
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], unpack(ARGV, 3))
if ARGV[2] == "" then redis.call("ZREM", KEYS[2], ARGV[1]) else redis.call("ZADD", KEYS[2], ARGV[2], ARGV[1]) end
return 1
"""
)

_DELETE = LuaScript(
    """
-- KEYS: schedule hash, owner's schedule index, due set; ARGV: schedule id
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
return redis.call("DEL", KEYS[1])
"""
)


class TooManySchedules(Exception):
    """The owner has SCHEDULES_PER_KEY schedules already."""


def new_schedule_id() -> str:
    """Unguessable, like a job id; `s` first, so a schedule id is never read as a job's."""
    return "s" + secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class StoredSchedule:
    """One schedule's hash, parsed once."""

    id: str
    owner: str
    cadence: Cadence
    job: dict[str, Any]
    paused: bool
    # The tick (ms) the next run is for, and when it is due (the tick plus its jitter).
    next_tick: int
    due_at: int
    created_ms: int
    updated_ms: int
    # Run ids of a tick derive from it: unguessable to others, the same on every worker.
    seed: str
    runs: int = 0
    last_run_job: str | None = None
    last_run_tick: int | None = None
    # The latest run whose page changed (`job`, `at`), from the schedule's history (`with_last_change`).
    last_change: dict[str, Any] | None = None

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> StoredSchedule | None:
        text = {key.decode(): value.decode() for key, value in raw.items()}
        if "id" not in text or "job" not in text:
            return None
        every_s = text.get("every_s")
        last_tick = text.get("last_run_tick")
        return cls(
            id=text["id"], owner=text["owner"],
            cadence=Cadence(every_s=int(every_s) if every_s else None, cron=text.get("cron") or None,
                            timezone=text.get("timezone") or "UTC", jitter_s=int(text.get("jitter_s") or 0),
                            anchor_ms=int(text.get("anchor_ms") or 0)),
            job=orjson.loads(text["job"]), paused=text.get("paused") == "1",
            next_tick=int(text["next_tick"]), due_at=int(text["due_at"]),
            created_ms=int(text["created_ms"]), updated_ms=int(text.get("updated_ms") or text["created_ms"]),
            seed=text["seed"], runs=int(text.get("runs") or 0),
            last_run_job=text.get("last_run_job") or None, last_run_tick=int(last_tick) if last_tick else None,
        )

    def fields(self) -> dict[str, str | int]:
        """What a create or a change writes (the runs and last run are the ticker's)."""
        cadence = self.cadence
        return {"id": self.id, "owner": self.owner, "every_s": cadence.every_s or "", "cron": cadence.cron or "",
                "timezone": cadence.timezone, "jitter_s": cadence.jitter_s,
                "anchor_ms": cadence.anchor_ms, "job": orjson.dumps(self.job).decode(),
                "paused": int(self.paused), "next_tick": self.next_tick, "due_at": self.due_at,
                "created_ms": self.created_ms, "updated_ms": self.updated_ms, "seed": self.seed}

    def run_id(self, tick_ms: int) -> str:
        """The job id of this schedule's run for `tick_ms`: whoever submits that tick, one job at most."""
        return hashlib.sha256(f"{self.seed}:{tick_ms}".encode()).hexdigest()[:32]

    def next_runs(self) -> list[int]:
        """When the next runs are due; none while paused."""
        if self.paused:
            return []
        later = self.cadence.upcoming(self.next_tick)
        return [self.due_at, *(self.cadence.due_ms(self.id, tick) for tick in later[:-1])]

    def public(self) -> dict[str, Any]:
        """The schedule as the API shows it (`jobs.schedules.models.Schedule`): no secret of its job."""
        cadence = self.cadence
        last_run = None
        if self.last_run_job and self.last_run_tick is not None:
            last_run = {"job": self.last_run_job, "scheduled_for": iso_ms(self.last_run_tick)}
        return {
            "id": self.id, "every_s": cadence.every_s, "cron": cadence.cron,
            "timezone": cadence.timezone, "jitter_s": cadence.jitter_s,
            "paused": self.paused, "job": without_secrets(self.job),
            "created_at": iso_ms(self.created_ms), "updated_at": iso_ms(self.updated_ms),
            "next_runs": [iso_ms(ms) for ms in self.next_runs()], "runs": self.runs,
            "last_run": last_run, "last_change": self.last_change,
            "links": {"self": f"/schedules/{self.id}", "runs": f"/jobs?schedule={self.id}"},
        }


def first_tick(cadence: Cadence, now: int) -> int:
    """The first tick of a cadence set now: at once for `every_s` (its anchor), the next match for `cron`."""
    return cadence.next_tick(now - 1) if cadence.every_s is not None else cadence.next_tick(now)


async def create_schedule(
    redis: Redis, keys: Keyspace, *, owner: str, cadence: Cadence, job: dict[str, Any], cap: int
) -> StoredSchedule:
    """Store a new schedule, its first run due at once (`every_s`) or at the cron's next match.

    TooManySchedules when the owner has `cap` already (checked in the same script).
    """
    now = now_ms()
    schedule_id = new_schedule_id()
    cadence = replace(cadence, anchor_ms=now)
    tick = first_tick(cadence, now)
    schedule = StoredSchedule(id=schedule_id, owner=owner, cadence=cadence, job=job, paused=False, next_tick=tick,
                              due_at=cadence.due_ms(schedule_id, tick), created_ms=now, updated_ms=now,
                              seed=secrets.token_hex(16))
    pairs = [part for pair in schedule.fields().items() for part in pair]
    created = await _CREATE(redis, [keys.schedule(schedule_id), keys.owner_schedules(owner), keys.schedules_due()],
                            [cap, schedule_id, now, schedule.due_at, *pairs])
    if not created:
        raise TooManySchedules(f"at most {cap} schedules per key")
    await redis.publish(keys.wake_channel(), WAKE_MESSAGE)
    return schedule


async def load_schedule(redis: Redis, keys: Keyspace, owner: str | None, schedule_id: str) -> StoredSchedule | None:
    """The owner's schedule; None if there is none such, or it is someone else's (`owner` None: anyone's)."""
    raw: dict[bytes, bytes] = await redis.hgetall(keys.schedule(schedule_id))  # type: ignore[misc]
    schedule = StoredSchedule.from_hash(raw)
    if schedule is None or (owner is not None and schedule.owner != owner):
        return None
    return (await with_last_change(redis, keys, [schedule]))[0]


# How far back in a schedule's history of changes (newest first) the latest `changed` page is looked for:
# the history also keeps `new` pages (a crawl's first look at each), which do not count as a change.
CHANGE_LOOKBACK = 50


async def with_last_change(redis: Redis, keys: Keyspace, schedules: list[StoredSchedule]) -> list[StoredSchedule]:
    """The schedules, each with its latest run whose page changed (`jobs.changes.history`), in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for schedule in schedules:
            pipe.xrevrange(keys.schedule_changes(schedule.id), count=CHANGE_LOOKBACK)
        histories: list[list[tuple[bytes, dict[bytes, bytes]]]] = await pipe.execute() if schedules else []
    found = []
    for schedule, history in zip(schedules, histories, strict=True):
        change = None
        for entry_id, fields in history:
            entry = orjson.loads(fields.get(b"data", b"{}"))
            if entry.get("status") == "changed":
                change = {"job": entry.get("job"), "url": entry.get("url"),
                          "at": iso_ms(int(entry_id.split(b"-")[0]))}
                break
        found.append(replace(schedule, last_change=change))
    return found


@dataclass(frozen=True, slots=True)
class SchedulePage:
    schedules: list[StoredSchedule]
    next_cursor: str | None


async def list_schedules(redis: Redis, keys: Keyspace, owner: str, *, cursor: str | None, limit: int) -> SchedulePage:
    """A page of the owner's schedules, newest first, with a cursor like `GET /jobs`'s (ValueError for a bad one).

    An owner has at most SCHEDULES_PER_KEY schedules, so the index is read whole.
    """
    last = parse_cursor(cursor)
    index = await redis.zrevrange(keys.owner_schedules(owner), 0, -1, withscores=True)
    entries = [(member.decode(), score) for member, score in index]
    if last is not None:
        entries = [(m, s) for m, s in entries if s < last[0] or (s == last[0] and m < last[1])]
    page = entries[:limit]
    async with redis.pipeline(transaction=False) as pipe:
        for schedule_id, _ in page:
            pipe.hgetall(keys.schedule(schedule_id))
        raws = await pipe.execute() if page else []
    schedules = await with_last_change(redis, keys, [s for s in map(StoredSchedule.from_hash, raws) if s is not None])
    more = len(entries) > limit
    next_cursor = f"{int(page[-1][1])}:{page[-1][0]}" if more and page else None
    return SchedulePage(schedules, next_cursor)


async def change_schedule(
    redis: Redis, keys: Keyspace, schedule: StoredSchedule, *, paused: bool | None, cadence: Cadence | None,
) -> StoredSchedule | None:
    """Pause, resume, or give a new cadence (`cadence` None: unchanged); None if it was deleted meanwhile.

    A new cadence starts from now (the next `every_s` tick is one interval away); a resumed
    schedule runs at its cadence's next tick; a paused one leaves the due set.
    """
    now = now_ms()
    paused = schedule.paused if paused is None else paused
    if cadence is not None and (cadence.every_s, cadence.cron, cadence.timezone) != (
            schedule.cadence.every_s, schedule.cadence.cron, schedule.cadence.timezone):
        cadence = replace(cadence, anchor_ms=now)
        tick = cadence.next_tick(now)
    else:
        cadence = cadence or schedule.cadence
        keep = not schedule.paused and schedule.next_tick > now
        tick = schedule.next_tick if keep else cadence.next_tick(now)
    changed = replace(schedule, cadence=cadence, paused=paused, next_tick=tick,
                      due_at=cadence.due_ms(schedule.id, tick), updated_ms=now)
    pairs = [part for pair in changed.fields().items() for part in pair]
    done = await _UPDATE(redis, [keys.schedule(schedule.id), keys.schedules_due()],
                         [schedule.id, "" if paused else changed.due_at, *pairs])
    if not done:
        return None
    await redis.publish(keys.wake_channel(), WAKE_MESSAGE)
    return changed


async def delete_schedule(redis: Redis, keys: Keyspace, schedule: StoredSchedule) -> bool:
    """Delete the schedule: no run after this. Its past runs stay, as jobs of their own, until they expire."""
    deleted = await _DELETE(redis, [keys.schedule(schedule.id), keys.owner_schedules(schedule.owner),
                                    keys.schedules_due()], [schedule.id])
    if deleted:
        await redis.publish(keys.wake_channel(), WAKE_MESSAGE)
    return bool(deleted)


async def delete_owner_schedules(redis: Redis, keys: Keyspace, owner: str) -> int:
    """Delete every schedule of an owner (its API key was revoked: nothing may run in its name); how many."""
    deleted = 0
    for member in await redis.zrange(keys.owner_schedules(owner), 0, -1):
        schedule_id = member.decode()
        deleted += await _DELETE(redis, [keys.schedule(schedule_id), keys.owner_schedules(owner),
                                         keys.schedules_due()], [schedule_id])
    if deleted:
        await redis.publish(keys.wake_channel(), WAKE_MESSAGE)
    return deleted
