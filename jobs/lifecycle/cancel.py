"""Ending a job from outside its worker: cancel."""

from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from jobs.lifecycle.attempt import queue_webhooks
from jobs.lifecycle.submit import QueueConfig
from jobs.models import ErrorInfo, JobRecord, JobStatus, WebhookSpec
from jobs.queue.arq_layout import ABORT_KEY, QUEUE_KEY, arq_job_key
from jobs.store.records import iso_now, load_raw_record, load_record, record_from_hash
from streams.events import EventType, now_ms
from streams.publish import PendingEvent, append_events


class AlreadyFinished(Exception):
    def __init__(self, record: JobRecord) -> None:
        super().__init__(f"job {record.id} already {record.status}")
        self.record = record


async def cancel_job(
    redis: Redis, config: QueueConfig, job_id: str, *, by: str, raw: dict[bytes, bytes] | None = None
) -> JobRecord | None:
    """Seal the job with `cancelled`, then make sure no worker runs (or keeps running) it.

    The terminal event is written first and atomically with the state: from
    then on no worker can append to the stream, so a queued job never starts
    and a running one stops at its next step at the latest. arq's abort set
    (plus a wake) stops a running one right away. None: no such job.
    `raw` is the record's hash, when the caller has just read it.
    """
    keys = config.keys
    error = {"code": "cancelled", "message": f"cancelled by {by}"}
    if raw is None:
        raw = await load_raw_record(redis, keys, job_id)
    before = record_from_hash(raw)
    if before is None:
        return None
    arq_id = raw.get(b"arq_id", job_id.encode()).decode()
    finished_at = iso_now()
    event = PendingEvent.make(
        EventType.CANCELLED, {"by": by},
        {"status": JobStatus.CANCELLED, "finished_at": finished_at, "error": orjson.dumps(error)},
    )
    ids = await append_events(redis, keys.events(job_id), keys.record(job_id), [event], limits=config.limits,
                              then=[("HINCRBY", keys.stats(), "cancelled", 1)])
    if ids is None:
        record = await load_record(redis, keys, job_id)
        if record is None:
            return None
        raise AlreadyFinished(record)
    request = orjson.loads(raw.get(b"request", b"{}"))
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(QUEUE_KEY, arq_id)
        pipe.zrem(keys.scheduled(), job_id)
        pipe.delete(arq_job_key(arq_id))
        if before.status == JobStatus.RUNNING:
            # Only running jobs go in the abort set: arq removes the entry when the
            # task ends, whereas an entry for a job that never runs would stay forever.
            pipe.zadd(ABORT_KEY, {arq_id: now_ms()})
        if request.get("webhook"):
            queue_webhooks(pipe, keys, config.limits.ttl_s, config.priority_step_ms, job_id,
                           WebhookSpec.model_validate(request["webhook"]), [(ids[0], event)])
        pipe.publish(keys.wake_channel(), b"cancel")
        await pipe.execute()
    # What the script just wrote: no need to read it back.
    return before.model_copy(update={"status": JobStatus.CANCELLED, "finished_at": datetime.fromisoformat(finished_at),
                                     "error": ErrorInfo(**error)})
