"""The job record: a Redis hash per job, read and interpreted here."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import cast

import orjson
from redis.asyncio import Redis

from jobs.models import ErrorInfo, JobRecord, JobStatus
from streams.keys import Keyspace


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _text(raw: dict[bytes, bytes], field: str) -> str | None:
    value = raw.get(field.encode())
    return value.decode() if value else None


def record_from_hash(raw: dict[bytes, bytes]) -> JobRecord | None:
    """Interpret HGETALL output; None for a missing (or half-written) record."""
    job_id = _text(raw, "id")
    created_at = _text(raw, "created_at")
    if not job_id or not created_at:
        return None
    error_json = _text(raw, "error")
    return JobRecord(
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
    )


async def load_raw_record(redis: Redis, keys: Keyspace, job_id: str) -> dict[bytes, bytes]:
    raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(keys.record(job_id)))
    return raw


async def load_record(redis: Redis, keys: Keyspace, job_id: str) -> JobRecord | None:
    return record_from_hash(await load_raw_record(redis, keys, job_id))
