"""Submitting a job: record, `queued` event and arq job in one MULTI/EXEC.

arq's `enqueue_job` spends four round trips (WATCH, EXISTS, MULTI/EXEC) on
making a caller-chosen id unique; our ids are 128 random bits, so we write
arq's job key and queue entry ourselves, next to our own record, in one atomic
round trip: a job is either fully accepted or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from arq.jobs import serialize_job
from redis.asyncio import Redis

from streams.events import EventType, now_ms
from streams.keys import Keyspace
from streams.publish import StreamLimits, queue_create

from .models import JobRecord, JobStatus, ScrapeRequest
from .queue import QUEUE_KEY, arq_job_key
from .records import iso_now
from .serializer import serialize_job as to_json


def new_job_id() -> str:
    """122 random bits (uuid4), hex: unguessable and easy to paste into redis-cli."""
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class QueueConfig:
    keys: Keyspace
    limits: StreamLimits


async def submit_job(
    redis: Redis, config: QueueConfig, request: ScrapeRequest, *, owner: str
) -> JobRecord:
    job_id = new_job_id()
    created_at = iso_now()
    enqueued_ms = now_ms()
    keys = config.keys
    payload = serialize_job(
        request.type,
        (job_id, request.model_dump(mode="json"), owner),
        {},
        None,
        enqueued_ms,
        serializer=to_json,
    )
    state: dict[str, str | int | bytes] = {
        "id": job_id,
        "type": request.type,
        "status": JobStatus.QUEUED.value,
        "percent": 0,
        "attempt": 0,
        "owner": owner,
        "created_at": created_at,
        "request": orjson.dumps(request.model_dump(mode="json")),
    }
    async with redis.pipeline(transaction=True) as pipe:
        queue_create(
            pipe, keys.events(job_id), keys.record(job_id), EventType.QUEUED, {},
            state=state, limits=config.limits,
        )
        # arq drops a job whose key expired before it started; keep it as long as the record.
        pipe.psetex(arq_job_key(job_id), config.limits.ttl_s * 1000, payload)
        pipe.zadd(QUEUE_KEY, {job_id: enqueued_ms})
        pipe.zadd(keys.owner_jobs(owner), {job_id: enqueued_ms})
        pipe.expire(keys.owner_jobs(owner), config.limits.ttl_s)
        pipe.publish(keys.wake_channel(), b"job")
        await pipe.execute()
    return JobRecord(
        id=job_id, type=request.type, status=JobStatus.QUEUED, created_at=datetime.fromisoformat(created_at)
    )
