"""Ending a job from outside its worker: cancel."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from streams.events import EventType, now_ms
from streams.publish import append_event

from .models import JobRecord, JobStatus
from .queue import ABORT_KEY, QUEUE_KEY, arq_job_key
from .records import iso_now, load_record
from .submit import QueueConfig


class AlreadyFinished(Exception):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"job {record.id} already {record.status}")
        self.record = record


async def cancel_job(redis: Redis, config: QueueConfig, job_id: str, *, by: str) -> JobRecord | None:
    """Seal the job with `cancelled`, then make sure no worker runs (or keeps running) it.

    The terminal event is written first and atomically with the state: from
    then on no worker can append to the stream, so a queued job never starts
    and a running one stops at its next step at the latest. arq's abort set
    (plus a wake) stops a running one right away. None: no such job.
    """
    keys = config.keys
    error = {"code": "cancelled", "message": f"cancelled by {by}"}
    before = await load_record(redis, keys, job_id)
    if before is None:
        return None
    entry_id = await append_event(
        redis, keys.events(job_id), keys.record(job_id), EventType.CANCELLED, {"by": by},
        state={"status": JobStatus.CANCELLED, "finished_at": iso_now(), "error": orjson.dumps(error)},
        limits=config.limits,
    )
    if entry_id is None:
        record = await load_record(redis, keys, job_id)
        if record is None:
            return None
        raise AlreadyFinished(record)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(QUEUE_KEY, job_id)
        pipe.delete(arq_job_key(job_id))
        if before.status in (JobStatus.RUNNING, JobStatus.RETRYING):
            # Only running jobs go in the abort set: arq removes the entry when the
            # task ends, whereas an entry for a job that never runs would stay forever.
            pipe.zadd(ABORT_KEY, {job_id: now_ms()})
        pipe.publish(keys.wake_channel(), b"cancel")
        await pipe.execute()
    return await load_record(redis, keys, job_id)
