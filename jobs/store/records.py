"""The job record: a Redis hash per job, read and interpreted here (and nowhere else).

`StoredJob` is the hash parsed once: the public `JobRecord` plus the fields
only the service itself reads (owner, request, priority, arq id, the sealing
event). Everything else asks it, so a field's name and encoding live here.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from jobs.models import ErrorInfo, JobRecord, JobStatus, asked_of
from jobs.queue.scores import DEFAULT_PRIORITY
from streams.keys import Keyspace
from streams.publish import SEALED_FIELD


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(raw: dict[bytes, bytes], field: str) -> str | None:
    value = raw.get(field.encode())
    return value.decode() if value else None


ASKED_FIELD = "asked"
"""The record field holding what was asked, without secrets (`jobs.models.asked_of`), written at submit."""


SCHEDULE_FIELD = "schedule"
"""The record field naming the schedule a job is a run of; its request payload carries the same key, so the
worker's run knows it (`JobRun.schedule_id`) without reading the record."""
SCHEDULED_FOR_FIELD = "scheduled_for"
"""The record field holding the tick (ISO 8601 UTC) a scheduled run is for."""


def _asked(raw: dict[bytes, bytes]) -> dict[str, Any]:
    asked = raw.get(ASKED_FIELD.encode())
    if asked:
        parsed: dict[str, Any] = orjson.loads(asked)
        return parsed
    # A record written before the field existed: the same, from the request it keeps.
    return asked_of(orjson.loads(raw.get(b"request", b"{}")))


def record_from_hash(raw: dict[bytes, bytes]) -> JobRecord | None:
    """Interpret HGETALL output; None for a missing (or half-written) record."""
    job_id = _text(raw, "id")
    created_at = _text(raw, "created_at")
    if not job_id or not created_at:
        return None
    error_json = _text(raw, "error")
    return JobRecord(
        **_asked(raw),
        id=job_id,
        type=_text(raw, "type") or "scrape",
        status=JobStatus(_text(raw, "status") or "queued"),
        phase=_text(raw, "phase"),
        percent=int(_text(raw, "percent") or 0),
        attempt=int(_text(raw, "attempt") or 0),
        created_at=datetime.fromisoformat(created_at),
        started_at=_text(raw, "started_at"),
        finished_at=_text(raw, "finished_at"),
        error=ErrorInfo(**orjson.loads(error_json)) if error_json else None,
        schedule=_text(raw, SCHEDULE_FIELD),
        scheduled_for=_text(raw, SCHEDULED_FOR_FIELD),
    )


@dataclass(frozen=True, slots=True)
class StoredJob:
    """One job's record hash, parsed once."""

    record: JobRecord
    # The API key id that submitted the job (or `public`); None only for a hand-written record.
    owner: str | None
    # The submitted request, as JSON (what a re-run submits again).
    request: dict[str, Any]
    priority: int
    # The id of the job's current arq job: the job id, or `<job id>.<n>` for a re-run.
    arq_id: str
    # The id of the terminal event once the stream is sealed (`streams.publish`).
    terminal_event_id: str | None

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> StoredJob | None:
        """Interpret HGETALL output; None for a missing (or half-written) record."""
        record = record_from_hash(raw)
        if record is None:
            return None
        return cls(
            record=record,
            owner=_text(raw, "owner"),
            request=orjson.loads(raw.get(b"request", b"{}")),
            priority=int(_text(raw, "priority") or DEFAULT_PRIORITY),
            arq_id=_text(raw, "arq_id") or record.id,
            terminal_event_id=_text(raw, SEALED_FIELD),
        )

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def type(self) -> str:
        return self.record.type

    @property
    def status(self) -> JobStatus:
        return self.record.status


async def load_job(redis: Redis, keys: Keyspace, job_id: str) -> StoredJob | None:
    """The job's record, parsed; None if there is no such job (or it expired)."""
    raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(keys.record(job_id)))
    return StoredJob.from_hash(raw)


async def load_record(redis: Redis, keys: Keyspace, job_id: str) -> JobRecord | None:
    stored = await load_job(redis, keys, job_id)
    return stored.record if stored else None


def queue_owner_read(pipe: Any, keys: Keyspace, job_id: str) -> None:
    """Queue, on a pipeline, the read of a job's owner; `owner_from_reply` reads its reply."""
    pipe.hget(keys.record(job_id), "owner")


def owner_from_reply(reply: bytes | None) -> str | None:
    """The owner `queue_owner_read` read; None for a job without a record."""
    return reply.decode() if reply else None


def queue_kind_read(pipe: Any, keys: Keyspace, job_id: str) -> None:
    """Queue, on a pipeline, the read of a job's kind; `kind_from_reply` reads its reply."""
    pipe.hget(keys.record(job_id), "type")


def kind_from_reply(reply: bytes | None) -> str | None:
    """The kind `queue_kind_read` read; None for an entry without a record (a webhook delivery, the cron)."""
    return reply.decode() if reply else None


def queue_priority_read(pipe: Any, keys: Keyspace, job_id: str) -> None:
    """Queue, on a pipeline, the read of a job's priority; `priority_from_reply` reads its reply."""
    pipe.hget(keys.record(job_id), "priority")


def priority_from_reply(reply: bytes | None) -> int | None:
    """The priority `queue_priority_read` read; None for a job without a record."""
    return int(reply) if reply is not None else None


async def job_summaries(redis: Redis, keys: Keyspace, job_ids: list[str]) -> list[dict[str, Any]]:
    """Each job's id, type, URL (a batch: its first) and start, in one round trip: what a worker runs."""
    async with redis.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(keys.record(job_id), ["type", "started_at", ASKED_FIELD])
        replies: list[list[bytes | None]] = await pipe.execute() if job_ids else []
    summaries = []
    for job_id, (job_type, started_at, asked_json) in zip(job_ids, replies, strict=True):
        asked = orjson.loads(asked_json) if asked_json else {}
        url = asked.get("url") or next(iter(asked.get("urls") or ()), None)
        summaries.append({"id": job_id, "type": job_type.decode() if job_type else None, "url": url,
                          "started_at": started_at.decode() if started_at else None})
    return summaries
