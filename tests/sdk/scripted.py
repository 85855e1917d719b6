"""A scripted server: a tiny ASGI app answering each request with the next scripted response.

The last response repeats; the server remembers the headers of every request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send


@dataclass
class Scripted:
    status: int
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]


def stream(body: str | bytes, chunk_size: int | None = None) -> Scripted:
    raw = body.encode() if isinstance(body, str) else body
    size = chunk_size or len(raw) or 1
    chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
    return Scripted(200, [(b"content-type", b"text/event-stream; charset=utf-8")], chunks)


def error(status: int, code: str = "boom", *, retry_after: int | None = None) -> Scripted:
    headers = [(b"content-type", b"application/json")]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    body = orjson.dumps({"error": {"code": code, "message": f"scripted {status}"}})
    return Scripted(status, headers, [body])


@dataclass
class ScriptedServer:
    responses: list[Scripted]
    requests: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        self.requests.append({k.decode(): v.decode() for k, v in scope["headers"]})
        response = self.responses[min(len(self.requests), len(self.responses)) - 1]
        await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
        for chunk in response.chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def json_body(status: int, body: Any) -> Scripted:
    return Scripted(status, [(b"content-type", b"application/json")], [orjson.dumps(body)])
