"""The SSE response: the hub writes frames straight into it; it watches for the client leaving."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from redis.exceptions import RedisError
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from streams.hub import FollowerClosed, FollowerHub, GapFrame

logger = logging.getLogger("scrapestream.sse")

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}

# The server's own `send`, stored by `service.app.ScrapestreamApp` before any middleware wraps it.
SERVER_SEND = "scrapestream.server_send"


# The hub writes one frame to every follower in a row: encode its HTTP chunk once.
_last_chunk: tuple[bytes, bytes] = (b"", b"0\r\n\r\n")


def _chunk(frame: bytes) -> bytes:
    global _last_chunk
    if _last_chunk[0] is not frame:
        _last_chunk = (frame, b"%x\r\n%b\r\n" % (len(frame), frame))
    return _last_chunk[1]


class ClientSink:
    """Writes SSE frames to one HTTP response.

    Headers go through the middleware stack as usual (CORS adds its own);
    body chunks go to the server's `send` directly, since no middleware of ours
    touches a body and each wrapper costs time for every follower of every
    event. Under uvicorn's httptools protocol, `try_write` goes one step further
    and does what uvicorn's `send` does for a chunk (one `transport.write`)
    when the socket is not paused; anywhere else it refuses and the hub awaits
    the ASGI `send` instead. The bench in bench/followers.py shows what each
    step is worth.
    """

    __slots__ = ("_cycle", "_send")

    def __init__(self, send: Send) -> None:
        self._send = send
        cycle = getattr(send, "__self__", None)
        is_httptools = type(cycle).__module__ == "uvicorn.protocols.http.httptools_impl"
        self._cycle: Any = cycle if is_httptools and hasattr(cycle, "flow") else None

    def try_write(self, frame: bytes) -> bool:
        cycle = self._cycle
        if (
            cycle is None
            or cycle.disconnected
            or cycle.response_complete
            or not cycle.chunked_encoding
            or cycle.flow.write_paused
        ):
            return False
        cycle.transport.write(_chunk(frame))
        return True

    async def write(self, frame: bytes) -> None:
        await self._send({"type": "http.response.body", "body": frame, "more_body": True})


class EventStreamResponse(Response):
    """`text/event-stream` of one job's events, served by the process's `FollowerHub`.

    There is no per-follower generator or task per event: the hub writes each
    entry into `ClientSink`. Per connection one task waits for
    `http.disconnect`; when it comes, the follow is cancelled at once.
    """

    media_type = "text/event-stream"

    def __init__(
        self, hub: FollowerHub, key: str, after_id: str | None, *, gap_frame: GapFrame, retry_ms: int
    ) -> None:
        self.status_code = 200
        self.background = None
        self.init_headers(SSE_HEADERS)
        self.hub = hub
        self.key = key
        self.after_id = after_id
        self.gap_frame = gap_frame
        self.retry_hint = f"retry: {retry_ms}\n\n".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        sink = ClientSink(scope.get(SERVER_SEND, send))
        await sink.write(self.retry_hint)
        follow = asyncio.current_task()
        assert follow is not None
        left = asyncio.ensure_future(_until_disconnect(receive))

        def client_left(_: object) -> None:
            follow.cancel()  # stop following at once: this frees the hub's subscription

        left.add_done_callback(client_left)
        try:
            await self.hub.serve(self.key, self.after_id, sink, gap_frame=self.gap_frame)
        except FollowerClosed:
            pass  # dropped (too slow, or shutting down); the client resumes with Last-Event-ID
        except RedisError:
            # Redis went away mid-stream: end the response; EventSource and the SDK
            # come back with Last-Event-ID and get the 503 until Redis is back.
            logger.warning("SSE follower of %s ended: Redis unreachable", self.key)
        except asyncio.CancelledError:
            if not left.done():
                raise
            follow.uncancel()
            return  # the client is gone; nothing more to send
        finally:
            left.remove_done_callback(client_left)
            if not left.done():
                left.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await left
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _until_disconnect(receive: Receive) -> Message:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return message
