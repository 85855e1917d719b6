"""A plain SSE reader for tests (the SDK has its own; tests must not lean on it)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

LINE_BREAK = re.compile(r"\r\n|\r|\n")


async def sse_lines(response: httpx.Response) -> AsyncIterator[str]:
    """Lines ended by CR, LF or CRLF only (httpx's `aiter_lines` also splits on U+2028)."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        while True:
            match = LINE_BREAK.search(buffer)
            if match is None or (match.group() == "\r" and match.end() == len(buffer)):
                break  # a lone CR at the end may be the first half of a CRLF
            yield buffer[: match.start()]
            buffer = buffer[match.end() :]
    if buffer:
        yield buffer


async def iter_frames(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Parse `text/event-stream` per the spec: fields until a blank line."""
    frame: dict[str, Any] = {}
    data_lines: list[str] = []
    async for line in sse_lines(response):
        if line == "":
            if data_lines or "event" in frame:
                frame["data"] = "\n".join(data_lines)
                yield frame
            frame, data_lines = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            data_lines.append(value)
        elif name in ("id", "event", "retry"):
            frame[name] = value


async def read_sse(
    client: httpx.AsyncClient, path: str, *, headers: dict[str, str] | None = None,
    limit: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield events {id, type, data} until the server closes (or `limit` events)."""
    count = 0
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())
        assert response.headers["content-type"].startswith("text/event-stream")
        async for frame in iter_frames(response):
            event = {"id": frame.get("id"), "type": frame.get("event", "message"),
                     "data": orjson.loads(frame["data"]) if frame.get("data") else None}
            yield event
            count += 1
            if limit is not None and count >= limit:
                return
