"""SSE on the wire: every frame's encoding, and the response the hub writes frames into."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from sse_starlette import ServerSentEvent
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from streams.events import Event
from streams.hub import FollowerClosed, FollowerHub, FollowerStalled, GapFrame

from .http_guard import GuardedHttpToolsProtocol
from .memory_return import return_freed_memory_soon

logger = logging.getLogger("scrapestream.sse")

SSE_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no", "Connection": "keep-alive",
               "Content-Type": "text/event-stream; charset=utf-8"}
# Encoded once, as Starlette's `init_headers` would for each response; every response gets its
# own copy of the list (CORS appends to it) of the same tuples.
_SSE_RAW_HEADERS = tuple((name.lower().encode("latin-1"), value.encode("latin-1"))
                         for name, value in SSE_HEADERS.items())

# The server's own `send`, stored by `service.app.ScrapestreamApp` before any middleware wraps it.
SERVER_SEND = "scrapestream.server_send"

# Lines end with LF, as our frames always have (sse-starlette defaults to CRLF);
# every SSE reader accepts both, and LF keeps each frame a byte shorter per line.
_LINE_END = "\n"


def encode_frame(event: Event) -> bytes:
    """The frame of one stream entry: `id:` is the entry id, `event:` its type, `data:` its JSON.

    sse-starlette strips line breaks from the id and the event name, so a
    hand-written entry cannot add fields, and splits `data` on CR, LF and CRLF
    only (not on U+2028, which JSON leaves raw).
    """
    return ServerSentEvent(event.data, event=event.type, id=event.id, sep=_LINE_END).encode()


def encode_resync(data: bytes) -> bytes:
    """The `resync` frame; no `id:`, so the client keeps resuming from the last real entry it saw."""
    return ServerSentEvent(data.decode(), event="resync", sep=_LINE_END).encode()


def encode_position(entry_id: str) -> bytes:
    """An id-only frame: sets the client's last event id (the spec dispatches no event for it).

    A follower that starts "from now" gets it first, so a reconnect before any
    entry resumes from where it started rather than from a later "now".
    """
    return ServerSentEvent(id=entry_id, sep=_LINE_END).encode()


@functools.cache
def encode_retry_hint(retry_ms: int) -> bytes:
    """How long `EventSource` waits before it reconnects."""
    return ServerSentEvent(retry=retry_ms, sep=_LINE_END).encode()


KEEPALIVE_FRAME = ServerSentEvent(comment="ping", sep=_LINE_END).encode()
"""A comment line: keeps proxies from closing an idle stream; readers ignore it."""


def reconnect_later(retry_ms: int) -> Response:
    """`200 text/event-stream` holding only a `retry:` hint, closed at once: come back later.

    The answer to an SSE follower while Redis is unreachable. `EventSource` treats
    any other status (503 included) as final and stops for good, but reconnects
    after a 200 that ends, with its `Last-Event-ID`. It says nothing of the job:
    without Redis nobody can tell whether the job exists or who may see it.
    """
    frame = ServerSentEvent(comment="the job store is unreachable; reconnecting later", retry=retry_ms,
                            sep=_LINE_END).encode()
    return Response(frame, media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# The hub writes one frame to every follower in a row: encode its HTTP chunk once.
_last_chunk: tuple[bytes, bytes] = (b"", b"0\r\n\r\n")


def _chunk(frame: bytes) -> bytes:
    global _last_chunk
    if _last_chunk[0] is not frame:
        _last_chunk = (frame, b"%x\r\n%b\r\n" % (len(frame), frame))
    return _last_chunk[1]


# uvicorn internals the fast path reads (guarded by tests/repo/test_sse_internals.py,
# and uvicorn's version is bounded in pyproject.toml): its httptools `send` is a
# method of `RequestResponseCycle`, whose `transport`, `chunked_encoding` and
# `response_complete` say where the bytes go and how a body chunk is framed.
_UVICORN_CYCLE_MODULE = "uvicorn.protocols.http.httptools_impl"
_UVICORN_CYCLE_ATTRIBUTES = ("transport", "chunked_encoding", "response_complete")


def _uvicorn_cycle(send: Send) -> Any | None:
    """uvicorn's httptools request cycle behind `send`, or None (another server or protocol)."""
    cycle = getattr(send, "__self__", None)
    if type(cycle).__module__ != _UVICORN_CYCLE_MODULE:
        return None
    if not all(hasattr(cycle, name) for name in _UVICORN_CYCLE_ATTRIBUTES):
        return None
    return cycle


class ClientSink:
    """Writes SSE frames to one HTTP response.

    Headers go through the middleware stack as usual (CORS adds its own);
    body chunks go to the server's `send` directly, since no middleware of ours
    touches a body and each wrapper costs time for every follower of every
    event. Under uvicorn's httptools protocol, `try_write` goes one step further
    and does what uvicorn's `send` does for a chunk (one `transport.write`)
    when that `send` would not wait; anywhere else it refuses and the hub awaits
    the ASGI `send` instead. The bench in bench/followers.py shows what each
    step is worth.

    A stalled client is aborted through the same transport (`abort`), which
    frees what it holds at once; without it (another server) the response
    simply ends.
    """

    __slots__ = ("_cycle", "_send", "_transport", "aborted")

    def __init__(self, send: Send) -> None:
        self._send = send
        self._cycle = _uvicorn_cycle(send)
        # The connection's transport (uvicorn's h11 cycle has one too): to bound and abort it.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        self._transport: asyncio.WriteTransport | None = transport if hasattr(transport, "abort") else None
        self.aborted = False  # by the hub, for a client that accepted nothing for too long

    def try_write(self, frame: bytes) -> bool:
        cycle, transport = self._cycle, self._transport
        if (
            cycle is None
            or transport is None
            or transport.is_closing()
            or cycle.response_complete
            or not cycle.chunked_encoding
            # asyncio's flow control resumes a paused protocol once the buffer is at or
            # below the low-water mark, so here uvicorn's `send` would not wait either.
            or transport.get_write_buffer_size() > transport.get_write_buffer_limits()[0]
        ):
            return False
        transport.write(_chunk(frame))
        return True

    async def write(self, frame: bytes) -> None:
        await self._send({"type": "http.response.body", "body": frame, "more_body": True})

    def protocol(self) -> asyncio.BaseProtocol | None:
        """The server's protocol object of this connection (None without a transport)."""
        return self._transport.get_protocol() if self._transport is not None else None

    def is_closing(self) -> bool:
        return self._transport is not None and self._transport.is_closing()

    def abort(self) -> None:
        self.aborted = True
        if self._transport is not None:
            self._transport.abort()

    def bound_send_buffer(self, size: int) -> None:
        """Cap the kernel's send buffer of this connection (Linux doubles the value for its bookkeeping),
        and the transport's own buffer at a quarter of it.

        Left alone, Linux grows the first up to `net.ipv4.tcp_wmem`'s maximum (4 MiB
        by default) for a client that reads nothing, and the transport pauses only
        past 64 KiB: what a stalled follower holds up until it is dropped.
        """
        if self._transport is None:
            return
        with contextlib.suppress(Exception):  # another server's transport may not take limits
            self._transport.set_write_buffer_limits(high=size // 4)
        sock = self._transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


class EventStreamResponse(Response):
    """`text/event-stream` of one job's events, served by the process's `FollowerHub`.

    There is no per-follower generator or task per event: the hub writes each
    entry into `ClientSink`. When the client's connection is lost
    (`DisconnectWatch`), the follow is cancelled at once.
    """

    media_type = "text/event-stream"

    def __init__(
        self, hub: FollowerHub, key: str, after_id: str | None, *, gap_frame: GapFrame, retry_ms: int,
        send_buffer_bytes: int = 64 * 1024,
    ) -> None:
        self.status_code = 200
        self.background = None
        self.raw_headers = list(_SSE_RAW_HEADERS)
        self.hub = hub
        self.key = key
        self.after_id = after_id
        self.gap_frame = gap_frame
        self.retry_hint = encode_retry_hint(retry_ms)
        self.send_buffer_bytes = send_buffer_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        # Taken out of the scope: the scope belongs to uvicorn's request cycle, and that `send` is the
        # cycle's own method, so left there it ties every connection's objects in a reference cycle
        # that only a full garbage collection frees (after thousands of dropped followers, a long pause).
        sink = ClientSink(scope.pop(SERVER_SEND, send))
        sink.bound_send_buffer(self.send_buffer_bytes)
        await sink.write(self.retry_hint)
        follow = asyncio.current_task()
        assert follow is not None
        gone = False

        def client_left() -> None:
            nonlocal gone
            gone = True
            follow.cancel()  # stop following at once: this frees the hub's subscription

        watch = DisconnectWatch(scope, receive, sink, client_left)
        stalled = False
        try:
            await self.hub.serve(self.key, self.after_id, sink, gap_frame=self.gap_frame)
        except FollowerStalled:
            stalled = True
        except FollowerClosed:
            pass  # dropped (its writes failed, or shutting down); the client resumes with Last-Event-ID
        except RedisError:
            # Redis went away mid-stream: end the response (a 200 that ends, so EventSource
            # reconnects); `reconnect_later` answers them until Redis is back.
            logger.warning("SSE follower of %s ended: Redis unreachable", self.key)
        except asyncio.CancelledError:
            if not gone:
                raise
            follow.uncancel()
            # The connection of a stalled client, once aborted, may be reported lost before the hub says why.
            stalled = sink.aborted
            if not stalled:
                return  # the client is gone; nothing more to send
        finally:
            await watch.stop()
        if stalled:
            logger.info("SSE follower of %s dropped: its client accepted nothing for %g s",
                        self.key, self.hub.send_timeout_s)
            return_freed_memory_soon()  # stalled followers tend to go in bursts
            return  # its connection is aborted: nothing more can be sent
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class DisconnectWatch:
    """Calls `on_gone` once when the client's connection is lost, for as long as a response follows.

    Under the Procfile's protocol (service.http_guard) the protocol itself calls
    it from `connection_lost`: nothing waits on `receive` meanwhile, which was a
    task, three coroutines and a future for every follower (~2 KiB of its ~15,
    bench/followers.py). Anywhere else, and for a request that came with a body
    (read and dropped here, or the server would stop reading the connection),
    a task waits for `http.disconnect`.
    """

    __slots__ = ("_on_done", "_protocol", "_task")

    def __init__(self, scope: Scope, receive: Receive, sink: ClientSink, on_gone: Callable[[], None]) -> None:
        self._protocol: GuardedHttpToolsProtocol | None = None
        self._task: asyncio.Task[Message] | None = None
        protocol = sink.protocol()
        if isinstance(protocol, GuardedHttpToolsProtocol) and protocol.on_lost is None and not _has_body(scope):
            self._protocol = protocol
            protocol.on_lost = on_gone
            if sink.is_closing():  # lost before it was watched
                asyncio.get_running_loop().call_soon(on_gone)
            return
        self._on_done: Callable[[object], None] = lambda _: on_gone()
        self._task = asyncio.ensure_future(_until_disconnect(receive))
        self._task.add_done_callback(self._on_done)

    async def stop(self) -> None:
        """Stop watching: the connection may carry the next request."""
        if self._protocol is not None:
            self._protocol.on_lost = None
            return
        task = self._task
        if task is not None:
            task.remove_done_callback(self._on_done)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def _has_body(scope: Scope) -> bool:
    """Whether the request says a body follows (a GET may carry one)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0")):
            return True
    return False


async def _until_disconnect(receive: Receive) -> Message:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return message
