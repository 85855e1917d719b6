"""Job events from a `text/event-stream` response, parsed per the spec by httpx-sse."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent

from streams.events import TERMINAL_TYPES, EventType


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One event: `id` is the Redis stream id (None on `resync`), `data` the parsed JSON."""

    id: str | None
    type: str
    data: Any

    @property
    def is_terminal(self) -> bool:
        return self.type in TERMINAL_TYPES


async def server_sent_events(response: httpx.Response) -> AsyncGenerator[ServerSentEvent, None]:
    """The frames of `response`; an unfinished one at the end (a dropped connection) is never yielded.

    An event stream is UTF-8 whatever its Content-Type says, and may start with
    a BOM (the spec); httpx-sse decodes with the response's charset, so we set it.
    """
    response.encoding = "utf-8-sig"
    async with contextlib.aclosing(EventSource(response).aiter_sse()) as frames:
        async for frame in frames:
            yield frame


def retry_hint_s(frame: ServerSentEvent) -> float | None:
    """The frame's `retry:` in seconds, if it carries one a client may use."""
    # httpx-sse reads `retry:` with int(), which also takes a sign; the spec wants digits only.
    return frame.retry / 1000 if frame.retry is not None and frame.retry >= 0 else None


def carries_no_event(frame: ServerSentEvent) -> bool:
    """A frame without type or data: the spec dispatches nothing for it.

    A bare `retry:` hint, or an id-only frame: the position a follow "from now"
    starts at (`GET /events` sends one first), which a reconnect resumes after.
    httpx-sse yields both with empty data (and the last id seen, per the spec).
    """
    return not frame.data and frame.event == "message"


def event_from(frame: ServerSentEvent) -> JobEvent:
    """The job event a frame carries.

    `resync` is not a stream entry and is sent without an `id:`; per the spec
    it still carries the last id seen (which is what a reconnect must send),
    so it is dropped here rather than mistaken for a replay of that entry.
    """
    kind = frame.event
    with contextlib.suppress(ValueError):
        kind = EventType(kind)
    # `queue` (on `GET /events`) is no stream entry either: no id of its own.
    entry_id = None if kind in (EventType.RESYNC, "queue") or not frame.id else frame.id
    try:
        data: Any = orjson.loads(frame.data)
    except orjson.JSONDecodeError:
        data = frame.data  # a hand-written entry (redis-cli XADD): hand it over as it is
    return JobEvent(entry_id, kind, data)
