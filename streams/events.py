"""The event schema: what a stream entry is.

A stream entry has two fields, readable as they are in `redis-cli`: `type`
(a word) and `data` (a JSON object that always carries `ts`, the publisher's
wall clock in ms). Over SSE (encoded in service/sse.py) the entry id is the event id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import orjson

from .ascii_decimal import parse_ascii_decimal


class EventType(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    PROGRESS = "progress"
    PAGE = "page"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    RESYNC = "resync"
    # A tracked page differs from its previous look (`track_changes`); published before `completed`.
    CHANGED = "changed"


TERMINAL_TYPES = frozenset({EventType.COMPLETED, EventType.FAILED, EventType.CANCELLED})


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def encode_data(data: dict[str, Any], ts_ms: int | None = None) -> bytes:
    """JSON for an entry's `data` field, stamped with `ts` (ms)."""
    return orjson.dumps({**data, "ts": now_ms() if ts_ms is None else ts_ms})


@dataclass(frozen=True, slots=True)
class Event:
    """One stream entry. `data` stays the raw JSON text as stored in Redis."""

    id: str
    type: str
    data: str
    # (ms, seq) of `id`, parsed once, to order and dedupe entries cheaply.
    order: tuple[int, int] = (0, 0)

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_TYPES

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.data)
        return parsed

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.json()}

    @classmethod
    def from_entry(cls, entry_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
        """Build from a raw XRANGE/XREAD entry; tolerate entries missing fields."""
        raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
        raw_type = fields.get(b"type", b"message")
        raw_data = fields.get(b"data", b"{}")
        return cls(
            id=raw_id,
            type=raw_type.decode(errors="replace"),
            data=raw_data.decode(errors="replace"),
            order=parse_stream_id(raw_id) or (0, 0),
        )


# Redis keeps both parts of a stream id as unsigned 64-bit integers.
MAX_ID_PART: Final = 2**64 - 1


def parse_stream_id(value: str) -> tuple[int, int] | None:
    """`1732451234567-0` → (ms, seq); None when it is not a stream id Redis could hold."""
    ms_text, sep, seq_text = value.strip().partition("-")
    ms = parse_ascii_decimal(ms_text, maximum=MAX_ID_PART)
    seq = parse_ascii_decimal(seq_text, maximum=MAX_ID_PART) if sep else 0
    if ms is None or seq is None:
        return None
    return ms, seq


def format_stream_id(parsed: tuple[int, int]) -> str:
    return f"{parsed[0]}-{parsed[1]}"
