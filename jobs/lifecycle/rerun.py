"""Re-running a failed or cancelled job as a new attempt (`POST /jobs/{id}/retry`)."""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from jobs.lifecycle.submit import QueueConfig
from jobs.models import JobRecord, JobStatus
from jobs.queue.enqueue import queue_arq_job
from jobs.queue.scores import queue_score
from jobs.store.records import load_raw_record, record_from_hash
from streams.events import EventType, now_ms
from streams.publish import PendingEvent, reopen_stream

RERUNNABLE = (JobStatus.FAILED.value, JobStatus.CANCELLED.value)


class NotRerunnable(Exception):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"job {record.id} is {record.status}; only failed or cancelled jobs can be retried")
        self.record = record


async def rerun_job(
    redis: Redis, config: QueueConfig, job_id: str, *, by: str, raw: dict[bytes, bytes] | None = None
) -> JobRecord | None:
    """Queue the job again; its attempts go on counting. None: no such job.

    `raw` is the record's hash, when the caller has just read it.
    """
    keys = config.keys
    if raw is None:
        raw = await load_raw_record(redis, keys, job_id)
    before = record_from_hash(raw)
    if before is None:
        return None
    request: dict[str, Any] = orjson.loads(raw.get(b"request", b"{}"))
    priority = int(raw.get(b"priority", b"5"))
    owner = raw.get(b"owner", b"public").decode()
    # A fresh arq id: the previous run's arq bookkeeping may still be finishing under the old one.
    arq_id = f"{job_id}.{before.attempt + 1}"
    event = PendingEvent.make(
        EventType.QUEUED, {"priority": priority, "rerun_of_attempt": before.attempt, "by": by},
        {"status": JobStatus.QUEUED, "percent": 0, "phase": "validate", "arq_id": arq_id},
    )
    entry_id = await reopen_stream(
        redis, keys.events(job_id), keys.record(job_id), only_if=("status", RERUNNABLE), event=event,
        clear=("error", "finished_at", "started_at"), limits=config.limits,
    )
    if entry_id is None:
        current = record_from_hash(await load_raw_record(redis, keys, job_id))
        if current is None:
            return None
        raise NotRerunnable(current)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(config.keys.scheduled(), job_id)
        queue_arq_job(pipe, str(request.get("type", "scrape")), arq_id, (job_id, request, owner, before.attempt),
                      score_ms=queue_score(now_ms(), priority, config.priority_step_ms),
                      ttl_s=config.limits.ttl_s, wake_channel=keys.wake_channel())
        await pipe.execute()
    # What the script just wrote: no need to read it back.
    return before.model_copy(update={"status": JobStatus.QUEUED, "percent": 0, "phase": "validate",
                                     "error": None, "finished_at": None, "started_at": None})
