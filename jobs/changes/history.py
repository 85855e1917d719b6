"""A schedule's history of changes: one capped, expiring Redis stream per schedule, read newest first.

Each entry is one page that was `new` or `changed` on a run of the schedule
(`same` looks are not kept): `{"job", "url", "status", "previous_job",
"diff", "fields"}`, plus `at` (the entry's time) and `id` (its stream id) when
read. The stream keeps the newest CHANGES_HISTORY_MAX entries and expires
CHANGES_TTL_S after the last one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from jobs.models import millisecond_utc
from streams.events import parse_stream_id
from streams.keys import Keyspace
from streams.publish import ThenCommand


def history_commands(keys: Keyspace, schedule_id: str, maxlen: int, ttl_s: int,
                     entry: dict[str, Any]) -> list[ThenCommand]:
    """Append one change to the schedule's history (for the script that stores the page)."""
    key = keys.schedule_changes(schedule_id)
    return [ThenCommand("XADD", key, ("MAXLEN", "~", maxlen, "*", "data", orjson.dumps(entry))),
            ThenCommand("EXPIRE", key, (ttl_s,))]


def _entry(entry_id: bytes, fields: dict[bytes, bytes]) -> dict[str, Any] | None:
    try:
        data = orjson.loads(fields.get(b"data", b""))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    stream_id = entry_id.decode()
    ms = (parse_stream_id(stream_id) or (0, 0))[0]
    return {"id": stream_id, "at": millisecond_utc(datetime.fromtimestamp(ms / 1000, UTC)), **data}


async def read_history(
    redis: Redis, keys: Keyspace, schedule_id: str, *, before: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` changes, newest first, strictly older than the entry id `before`; and the next cursor."""
    newest = f"({before}" if before else "+"
    raw = await redis.xrevrange(keys.schedule_changes(schedule_id), newest, "-", count=limit + 1)
    entries = [entry for entry_id, fields in raw[:limit] if (entry := _entry(entry_id, fields)) is not None]
    next_cursor = raw[limit - 1][0].decode() if len(raw) > limit else None
    return entries, next_cursor
