"""Ending a job from outside its worker: cancel."""

from __future__ import annotations

from datetime import datetime

import orjson
from redis.asyncio import Redis

from jobs.lifecycle.attempt import queue_webhooks
from jobs.lifecycle.refusals import WrongState
from jobs.lifecycle.submit import QueueConfig
from jobs.models import ErrorInfo, JobRecord, JobStatus, WebhookSpec
from jobs.queue.kinds import queues_of
from jobs.store.records import StoredJob, iso_now, load_job, load_record
from streams.events import EventType, now_ms
from streams.publish import PendingEvent, ThenCommand, append_events


class AlreadyFinished(WrongState, code="already_finished", why="job {id} already {status}"):
    """Cancelling a job that has already finished."""


async def cancel_job(
    redis: Redis, config: QueueConfig, job_id: str, *, by: str, stored: StoredJob | None = None
) -> JobRecord | None:
    """Seal the job with `cancelled`, then make sure no worker runs (or keeps running) it.

    The terminal event is written first and atomically with the state: from
    then on no worker can append to the stream, so a queued job never starts
    and a running one stops at its next step at the latest. arq's abort set
    (plus a wake) stops a running one right away. None: no such job.
    `stored` is the job's record, when the caller has just read it.
    """
    keys = config.keys
    error = {"code": "cancelled", "message": f"cancelled by {by}"}
    if stored is None:
        stored = await load_job(redis, keys, job_id)
    if stored is None:
        return None
    before, arq_id = stored.record, stored.arq_id
    finished_at = iso_now()
    event = PendingEvent.make(
        EventType.CANCELLED, {"by": by},
        {"status": JobStatus.CANCELLED, "finished_at": finished_at, "error": orjson.dumps(error)},
    )
    owner = stored.owner if stored.owner is not None else "public"
    ids = await append_events(redis, keys.events(job_id), keys.record(job_id), [event], limits=config.limits,
                              then=[ThenCommand("HINCRBY", keys.stats(), ("cancelled", 1))],
                              activity=config.activity(owner))
    if ids is None:
        record = await load_record(redis, keys, job_id)
        if record is None:
            return None
        raise AlreadyFinished(record)
    request = stored.request
    # A crawl's or batch's parts on other workers stop too (`jobs.kinds.crawl_part`).
    parts = ([member.decode() for member in await redis.smembers(keys.crawl_parts(job_id))]  # type: ignore[misc]
             if before.status == JobStatus.RUNNING and request.get("type") in ("crawl", "batch") else [])
    async with redis.pipeline(transaction=True) as pipe:
        for queue in queues_of(keys, [before.type]):  # its kind's queue; the shared one, if an older version queued it
            pipe.zrem(queue, arq_id, *parts)
        pipe.zrem(keys.scheduled(), job_id)
        pipe.delete(keys.arq_job(arq_id))
        if before.status == JobStatus.RUNNING:
            # Only running jobs go in the abort set: arq removes the entry when the
            # task ends, whereas an entry for a job that never runs would stay forever.
            pipe.zadd(keys.arq_abort(), {arq_id: now_ms(), **dict.fromkeys(parts, now_ms())})
        if parts:
            pipe.delete(*(keys.arq_job(part) for part in parts))
        if request.get("webhook"):
            queue_webhooks(pipe, config, job_id, WebhookSpec.model_validate(request["webhook"]), [(ids[0], event)])
        pipe.publish(keys.wake_channel(), b"cancel")
        await pipe.execute()
    # What the script just wrote: no need to read it back.
    return before.model_copy(update={"status": JobStatus.CANCELLED, "finished_at": datetime.fromisoformat(finished_at),
                                     "error": ErrorInfo(**error)})
