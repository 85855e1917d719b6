"""Submitting a job: record, `queued` event and arq job in one Lua script.

arq's `enqueue_job` spends four round trips making a caller-chosen id unique;
our ids are 122 random bits, so the arq job is written next to our own
record in one atomic round trip: a job is either fully accepted or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Self

import orjson
from redis.asyncio import Redis

from jobs.models import JobRecord, JobRequest, JobStatus, asked_of
from jobs.queue.enqueue import arq_job_commands
from jobs.queue.history import count_commands
from jobs.queue.scores import queue_score
from jobs.store.records import ASKED_FIELD, SCHEDULE_FIELD, SCHEDULED_FOR_FIELD
from streams.events import EventType, now_ms
from streams.keys import Keyspace
from streams.publish import ActivityFeed, PendingEvent, StreamLimits, ThenCommand, create_stream

if TYPE_CHECKING:
    from jobs.settings import Settings


def new_job_id() -> str:
    """122 random bits (uuid4), hex: unguessable and easy to paste into redis-cli."""
    return uuid.uuid4().hex


class JobIdTaken(RuntimeError):
    """A job with this id exists already: for a schedule's run (whose id its tick decides), it was submitted."""


@dataclass(frozen=True, slots=True)
class ScheduledRun:
    """What makes a submit a schedule's run: the schedule, and the tick (ms) it runs for."""

    schedule_id: str
    tick_ms: int

    @property
    def tick(self) -> datetime:
        return datetime.fromtimestamp(self.tick_ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """The queue as the web and the workers both see it: key names, stream limits, priority step."""

    keys: Keyspace
    limits: StreamLimits
    priority_step_ms: int = 60_000

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            keys=Keyspace(settings.key_prefix),
            limits=StreamLimits(maxlen=settings.stream_maxlen, ttl_s=settings.retention_s),
            priority_step_ms=int(settings.priority_step_s * 1000),
        )

    def activity(self, owner: str) -> ActivityFeed:
        """The owner's activity stream, expiring like the owner's job index."""
        return ActivityFeed(self.keys.owner_activity(owner), self.limits.ttl_s)


async def submit_job(
    redis: Redis, config: QueueConfig, request: JobRequest, *, owner: str, job_id: str | None = None,
    run_of: ScheduledRun | None = None,
) -> JobRecord:
    """Write the job and queue it, in one script; JobIdTaken if `job_id` exists already (nothing is written).

    `run_of`: the job is a run of a schedule; its record and its payload name it (`SCHEDULE_FIELD`).
    """
    job_id = job_id or new_job_id()
    now = datetime.now(UTC)
    created_at = _iso(now)
    keys = config.keys
    start_at = request.start_at(now)
    status = JobStatus.SCHEDULED if start_at else JobStatus.QUEUED
    request_json = request.model_dump(mode="json")
    if run_of is not None:
        request_json[SCHEDULE_FIELD] = run_of.schedule_id  # for the worker's run (and a re-run) of it
    asked = asked_of(request.model_dump(mode="json", by_alias=True))
    state: dict[str, str | int | bytes] = {
        "id": job_id,
        "type": request.type,
        "status": status.value,
        "percent": 0,
        "attempt": 0,
        "owner": owner,
        "priority": request.priority,
        "created_at": created_at,
        "request": orjson.dumps(request_json),
        # What the record shows of the request (no secret), written once here rather than derived per read.
        ASKED_FIELD: orjson.dumps(asked),
    }
    queued: dict[str, object] = {"priority": request.priority}
    if run_of is not None:
        state[SCHEDULE_FIELD] = queued[SCHEDULE_FIELD] = run_of.schedule_id
        state[SCHEDULED_FOR_FIELD] = _iso(run_of.tick)
    limits = config.limits
    if start_at:
        state["run_at"] = queued["run_at"] = start_at.isoformat().replace("+00:00", "Z")
        # Kept for the retention period after the job may start, not after it was submitted.
        limits = replace(limits, ttl_s=limits.ttl_s + int((start_at - now).total_seconds()))
    arq_args = (job_id, request_json, owner)
    if start_at:
        # Waits in the scheduled set; a worker promotes it into the queue when due.
        then = arq_job_commands(keys, request.type, job_id, arq_args, kind=request.type, score_ms=None,
                                ttl_s=limits.ttl_s)
        then += [ThenCommand("ZADD", keys.scheduled(), (int(start_at.timestamp() * 1000), job_id)),
                 # A worker may need to wake sooner.
                 ThenCommand("PUBLISH", None, (keys.wake_channel(), "scheduled"))]
    else:
        then = arq_job_commands(keys, request.type, job_id, arq_args, kind=request.type,
                                score_ms=queue_score(now_ms(), request.priority, config.priority_step_ms),
                                ttl_s=limits.ttl_s, wake=True)
    then += [ThenCommand("ZADD", keys.owner_jobs(owner), (int(now.timestamp() * 1000), job_id)),
             ThenCommand("EXPIRE", keys.owner_jobs(owner), (config.limits.ttl_s,)),
             *count_commands(keys, "submitted")]
    # One script: the record, the `queued` event (echoed to the owner's activity), the queue entries
    # and the minute's count, all or nothing.
    created = await create_stream(redis, keys.events(job_id), keys.record(job_id),
                                  PendingEvent.make(EventType.QUEUED, queued, state), limits=limits, then=then,
                                  activity=config.activity(owner))
    if created is None:
        # A random id: never, short of a broken RNG. A schedule's run: another worker submitted this tick.
        raise JobIdTaken(f"job id {job_id} is taken")
    return JobRecord(id=job_id, type=request.type, status=status, created_at=now, **asked,
                     schedule=run_of.schedule_id if run_of else None, scheduled_for=run_of.tick if run_of else None)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
