"""Re-running a failed or cancelled job as a new attempt (`POST /jobs/{id}/retry`)."""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.lifecycle.refusals import WrongState
from jobs.lifecycle.submit import QueueConfig
from jobs.models import JobRecord, JobStatus
from jobs.queue.enqueue import arq_job_commands, queue_commands
from jobs.queue.scores import queue_score
from jobs.store.records import StoredJob, load_job
from streams.events import EventType, now_ms
from streams.publish import PendingEvent, reopen_stream

RERUNNABLE = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)


class NotRerunnable(WrongState, code="not_retryable",
                    why="job {id} is {status}; only failed or cancelled jobs can be retried"):
    """Re-running a job that neither failed nor was cancelled."""


async def rerun_job(
    redis: Redis, config: QueueConfig, job_id: str, *, by: str, stored: StoredJob | None = None
) -> JobRecord | None:
    """Queue the job again; its attempts go on counting. None: no such job.

    `stored` is the job's record, when the caller has just read it.
    """
    keys = config.keys
    if stored is None:
        stored = await load_job(redis, keys, job_id)
    if stored is None:
        return None
    before, request, priority = stored.record, stored.request, stored.priority
    owner = stored.owner if stored.owner is not None else "public"
    # A fresh arq id: the previous run's arq bookkeeping may still be finishing under the old one.
    arq_id = f"{job_id}.{before.attempt + 1}"
    event = PendingEvent.make(
        EventType.QUEUED, {"priority": priority, "rerun_of_attempt": before.attempt, "by": by},
        {"status": JobStatus.QUEUED, "percent": 0, "phase": "validate", "arq_id": arq_id},
    )
    entry_id = await reopen_stream(
        redis, keys.events(job_id), keys.record(job_id), only_if=("status", RERUNNABLE), event=event,
        clear=("error", "finished_at", "started_at"), limits=config.limits, activity=config.activity(owner),
    )
    if entry_id is None:
        current = await load_job(redis, keys, job_id)
        if current is None:
            return None
        raise NotRerunnable(current.record)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(config.keys.scheduled(), job_id)
        kind = str(request.get("type", "scrape"))
        queue_commands(pipe, arq_job_commands(
            keys, kind, arq_id, (job_id, request, owner, before.attempt), kind=kind,
            score_ms=queue_score(now_ms(), priority, config.priority_step_ms), ttl_s=config.limits.ttl_s, wake=True))
        await pipe.execute()
    # What the script just wrote: no need to read it back.
    return before.model_copy(update={"status": JobStatus.QUEUED, "percent": 0, "phase": "validate",
                                     "error": None, "finished_at": None, "started_at": None})
