"""Refuse request bodies over a size, without ever holding more than that in memory."""

from __future__ import annotations

import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import PayloadTooLarge


class BodyLimit:
    """413 for a body over `max_bytes`: at once when Content-Length says so, else as
    soon as the chunks received pass it (chunked bodies have no Content-Length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._refuse(send)
                    await _discard_body(receive)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the endpoint's read: the app's error handler answers 413.
                    raise self.too_large()
            return message

        await self.app(scope, limited_receive, send)

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"the request body is over the limit of {self.max_bytes} bytes",
                               limit=self.max_bytes)

    async def _refuse(self, send: Send) -> None:
        """Answer 413 before reading anything; the body is then read and dropped."""
        import orjson

        body = orjson.dumps(self.too_large().body())
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


# After the 413, the body is read and dropped (never kept), so the connection
# closes cleanly: closing with unread data makes the kernel reset it, and the
# client would see a connection error instead of the 413. Bounded, so a client
# cannot hold the connection forever.
DISCARD_MAX_BYTES = 256 * 1024 * 1024
DISCARD_MAX_S = 30.0


async def _discard_body(receive: Receive) -> None:
    import asyncio

    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(DISCARD_MAX_S):
            while dropped <= DISCARD_MAX_BYTES:
                message = await receive()
                if message["type"] != "http.request":
                    return
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    return
