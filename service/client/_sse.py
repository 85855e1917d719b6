"""Reading `text/event-stream` per the spec, into job events."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson

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


@dataclass(slots=True)
class _Frame:
    id: str | None = None
    event: str = ""
    data: list[str] = field(default_factory=list)
    retry_ms: int | None = None


_LINE_END = re.compile(rb"\r\n|\r|\n")


async def sse_lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[str]:
    """Split on CRLF, CR or LF only (not on U+2028, which JSON may hold raw)."""
    buffer, first = b"", True
    async for chunk in chunks:
        buffer += chunk
        # A trailing CR may be half of a CRLF: keep it until the next chunk tells.
        held = buffer.endswith(b"\r")
        *lines, buffer = _LINE_END.split(buffer[:-1] if held else buffer)
        buffer += b"\r" if held else b""
        for raw in lines:
            line = raw.decode("utf-8", errors="replace")
            if first:
                line, first = line.removeprefix("\ufeff"), False
            yield line
    # What follows the last line end is an unfinished event: the spec drops it.


async def sse_frames(lines: AsyncIterable[str]) -> AsyncIterator[_Frame]:
    """Frames per the SSE spec; one that only carries `retry:` comes out with no data."""
    frame = _Frame()
    async for line in lines:
        if not line:
            if frame.data or frame.retry_ms is not None:
                yield frame
            frame = _Frame()
        elif not line.startswith(":"):  # a comment is a keep-alive
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                frame.data.append(value)
            elif name == "event":
                frame.event = value
            elif name == "id" and "\0" not in value:
                frame.id = value or None
            elif name == "retry" and value.isascii() and value.isdigit():
                frame.retry_ms = int(value)


def event_from(frame: _Frame) -> JobEvent:
    text = "\n".join(frame.data)
    try:
        data: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = text  # a hand-written entry (redis-cli XADD): hand it over as it is
    kind = frame.event or "message"
    with contextlib.suppress(ValueError):
        kind = EventType(kind)
    return JobEvent(frame.id, kind, data)
