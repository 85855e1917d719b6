"""The SSE response: the hub writes frames straight into it; it watches for the client leaving."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from streams.hub import FollowerClosed, FollowerHub, GapFrame

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


class EventStreamResponse(Response):
    """`text/event-stream` of one job's events, served by the process's `FollowerHub`.

    Unlike a StreamingResponse there is no per-follower generator: the hub
    calls this response's `send` for each entry. Per connection, one task
    waits for `http.disconnect`; when it comes, the follow is cancelled.
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

        async def sink(frame: bytes) -> None:
            await send({"type": "http.response.body", "body": frame, "more_body": True})

        await sink(self.retry_hint)
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
