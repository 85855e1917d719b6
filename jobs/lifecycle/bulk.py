"""Acting on many of an owner's jobs at once: re-run the failed (or cancelled) ones, delete finished ones.

Both take either a list of ids or a filter (status, type) over the owner's
index, at most `MAX_BULK` jobs a call; a filter's `next_cursor` goes on from
where the call stopped. A job that is not the caller's reads as unknown.
Deleting is one script per job that removes it only while it is finished
(sealed) and the caller's, so a re-run or a worker racing it never loses a
running job's keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from jobs.lifecycle.rerun import RERUNNABLE, NotRerunnable, rerun_job
from jobs.lifecycle.submit import QueueConfig
from jobs.models import JobStatus
from jobs.store.listing import JobFilter, list_jobs
from jobs.store.records import StoredJob
from streams.keys import Keyspace
from streams.lua import LuaScript
from streams.publish import SEALED_FIELD

MAX_BULK = 1_000


@dataclass(frozen=True, slots=True)
class Selection:
    """Which of the owner's jobs: `ids`, or those the filter keeps (from `cursor` on)."""

    ids: Sequence[str] | None = None
    status: JobStatus | None = None
    type: str | None = None
    cursor: str | None = None


@dataclass(slots=True)
class BulkOutcome:
    done: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # Where a filter's next call goes on; None when it looked at every job.
    next_cursor: str | None = None


async def _selected(redis: Redis, keys: Keyspace, owner: str, selection: Selection,
                    outcome: BulkOutcome) -> list[StoredJob]:
    if selection.ids is not None:
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in selection.ids:
                pipe.hgetall(keys.record(job_id))
            raws = await pipe.execute() if selection.ids else []
        jobs = []
        for job_id, raw in zip(selection.ids, raws, strict=True):
            stored = StoredJob.from_hash(raw)
            if stored is None or stored.owner != owner:
                outcome.skipped.append({"id": job_id, "reason": "not_found"})
            else:
                jobs.append(stored)
        return jobs
    page = await list_jobs(redis, keys, owner, cursor=selection.cursor, limit=MAX_BULK,
                           where=JobFilter(status=selection.status, type=selection.type))
    outcome.next_cursor = page.next_cursor
    async with redis.pipeline(transaction=False) as pipe:
        for record in page.jobs:
            pipe.hgetall(keys.record(record.id))
        raws = await pipe.execute() if page.jobs else []
    return [stored for raw in raws if (stored := StoredJob.from_hash(raw)) is not None]


async def rerun_jobs(redis: Redis, config: QueueConfig, owner: str, selection: Selection, *, by: str) -> BulkOutcome:
    """Re-run every selected failed or cancelled job (a filter without a status: both)."""
    outcome = BulkOutcome()
    for stored in await _selected(redis, config.keys, owner, selection, outcome):
        wanted = (selection.status.value,) if selection.status is not None else RERUNNABLE
        if stored.status.value not in wanted or stored.status.value not in RERUNNABLE:
            outcome.skipped.append({"id": stored.id, "reason": "not_retryable", "status": stored.status.value})
            continue
        try:
            rerun = await rerun_job(redis, config, stored.id, by=by, stored=stored)
        except NotRerunnable as exc:  # it changed meanwhile (another re-run got there first)
            outcome.skipped.append({"id": stored.id, "reason": "not_retryable", "status": exc.record.status.value})
            continue
        if rerun is None:
            outcome.skipped.append({"id": stored.id, "reason": "not_found"})
        else:
            outcome.done.append(stored.id)
    return outcome


_DELETE = LuaScript(
    f'local sealed = "{SEALED_FIELD}"\n'
    + """
-- KEYS: record, events, result, pages, owner's index
-- ARGV: owner, job id
-- Returns 1 if deleted; 0 if the job is not finished (not sealed); -1 if it is not the owner's (or gone).
if redis.call("HGET", KEYS[1], "owner") ~= ARGV[1] then return -1 end
if redis.call("HEXISTS", KEYS[1], sealed) == 0 then return 0 end
redis.call("DEL", KEYS[1], KEYS[2], KEYS[3], KEYS[4])
redis.call("ZREM", KEYS[5], ARGV[2])
return 1
"""
)


async def delete_finished_job(redis: Redis, keys: Keyspace, owner: str, job_id: str) -> int:
    """1: deleted (record, events, result, pages, index entry); 0: not finished; -1: no such job of the owner."""
    keys_of_job = [keys.record(job_id), keys.events(job_id), keys.result(job_id), keys.pages(job_id),
                   keys.owner_jobs(owner)]
    return int(await _DELETE(redis, keys_of_job, [owner, job_id]))


async def delete_jobs(redis: Redis, keys: Keyspace, owner: str, selection: Selection) -> BulkOutcome:
    """Delete every selected finished job; running, queued and scheduled ones are skipped (cancel them first)."""
    outcome = BulkOutcome()
    for stored in await _selected(redis, keys, owner, selection, outcome):
        deleted = await delete_finished_job(redis, keys, owner, stored.id)
        if deleted == 1:
            outcome.done.append(stored.id)
        elif deleted == 0:
            outcome.skipped.append({"id": stored.id, "reason": "not_finished", "status": stored.status.value})
        else:
            outcome.skipped.append({"id": stored.id, "reason": "not_found"})
    return outcome
