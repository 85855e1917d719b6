"""uvicorn's httptools protocol with bounded request heads, a head timeout and a connection cap.

Run it with `uvicorn --http service.http_guard:GuardedHttpToolsProtocol` (the
Procfile and `scrapestream web` do). Bytes reach the parser only while the head
they belong to is within MAX_HEADER_BYTES: httptools keeps a header it has not
finished in memory, so a head of any size would otherwise be buffered whole.

    a head over MAX_HEADER_BYTES or MAX_HEADERS      431, then closed
    no complete head HEADER_TIMEOUT_S after the
      connection opened or its last response ended   408 (closed silently if nothing came)
    a connection over MAX_CONNECTIONS                 the oldest connection waiting for a head
                                                      is closed; if none waits, 503 and closed

A head that starts inside a read that also ends the previous request is counted
from the next read on: it may pass the limit by at most one read.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from .connection_cap import ConnectionBook, HeadLimits, book_for
from .settings import WebSettings

# After an answer that closes the connection, what the client still sends is read and
# dropped for this long: closing with unread bytes would reset the connection, and a
# reset can discard the answer before the client reads it.
LINGER_S = 2.0


def _canned(status: str, code: str, message: str, *extra: str) -> bytes:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = [f"HTTP/1.1 {status}", "content-type: application/json", *extra,
            f"content-length: {len(body)}", "connection: close"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


@functools.cache
def _limits() -> HeadLimits:
    settings = WebSettings()
    return HeadLimits(settings.max_header_bytes, settings.max_headers, settings.header_timeout_s,
                      settings.max_connections)


@functools.cache
def _answers(limits: HeadLimits) -> dict[str, bytes]:
    return {
        "too_large": _canned("431 Request Header Fields Too Large", "headers_too_large",
                             f"the request head is over {limits.max_header_bytes} bytes or "
                             f"{limits.max_headers} header fields"),
        "timeout": _canned("408 Request Timeout", "header_timeout",
                           f"no complete request head within {limits.header_timeout_s:g} s"),
        "shed": _canned("503 Service Unavailable", "too_many_connections",
                        "this server holds as many connections as it may; try again", "retry-after: 1"),
    }


class HeadTooLarge(Exception):
    """Raised in a parser callback to stop httptools at once (it then raises HttpParserCallbackError)."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    # Held beside uvicorn's attributes, not in the instance dict: added there, they grew each
    # connection's dict past its first size (~1.5 KiB more for every connection an SSE follower holds).
    __slots__ = ("answers", "book", "bytes_while_waiting", "counted", "head_bytes", "head_refused", "header_count",
                 "limits", "lingering", "on_lost", "waiting_timer")

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = _limits()
        self.answers = _answers(self.limits)
        self.book: ConnectionBook = book_for(server_state, self.limits)
        self.counted = False
        self.head_bytes: int | None = 0  # None: the parser is past the head, in a body or a response
        self.header_count = 0
        self.head_refused = False
        self.lingering = False
        self.waiting_timer: asyncio.TimerHandle | None = None
        self.bytes_while_waiting = False
        # Called once when the connection is lost (service.sse: an event stream's follow ends at once).
        self.on_lost: Callable[[], None] | None = None

    # ---- the connection's life ----

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not self.book.admit():
            transport.write(self.answers["shed"])
            transport.close()  # no lingering: that would hold a descriptor past the cap
            return
        self.counted = True
        self._start_waiting()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)
        on_lost, self.on_lost = self.on_lost, None
        if on_lost is not None:
            on_lost()

    def shutdown(self) -> None:
        """A graceful shutdown (SIGTERM) ends an open event stream at once, what it has written flushed.

        uvicorn lets a response in progress finish, up to --timeout-graceful-shutdown; an SSE response
        never finishes, so every follower was cancelled at that deadline, each with a traceback in the
        log, and the restart waited for it. Its client reconnects with Last-Event-ID, to this process's
        successor. Only a chunked response in progress is ended: every other one has a length."""
        cycle = self.cycle
        if cycle is not None and cycle.response_started and cycle.chunked_encoding and not cycle.response_complete:
            self.transport.close()
            return
        super().shutdown()

    def evict(self) -> None:
        """Closed to make room for a new connection (see service/connection_cap.py)."""
        self._release()
        self.transport.close()

    def _release(self) -> None:
        self._stop_waiting()
        if self.counted:
            self.counted = False
            self.book.release()

    # ---- waiting for a head: the timeout, and the order of eviction ----

    def _start_waiting(self) -> None:
        self._stop_waiting()
        self.bytes_while_waiting = False
        self.book.wait(self)
        self.waiting_timer = self.loop.call_later(self.limits.header_timeout_s, self._head_timed_out)

    def _stop_waiting(self) -> None:
        self.book.stop_waiting(self)
        if self.waiting_timer is not None:
            self.waiting_timer.cancel()
            self.waiting_timer = None

    def _head_timed_out(self) -> None:
        self.waiting_timer = None
        if self.lingering:
            self.transport.close()
        elif self.bytes_while_waiting:
            self._answer_and_close(self.answers["timeout"])
        else:
            self.transport.close()  # an idle connection: a keep-alive that ended, or one never used

    def _answer_and_close(self, answer: bytes) -> None:
        """Write a final answer, then read and drop what still comes, for at most LINGER_S."""
        self.lingering = True
        self.parser = None  # type: ignore[assignment]  # httptools drops what it buffered
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head went over while a response is being sent: no room for another answer.
            self.transport.close()
            return
        self.transport.write(answer)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        # Still evictable, and counted against the cap while it lingers.
        self._stop_waiting()
        self.book.wait(self)
        self.waiting_timer = self.loop.call_later(min(LINGER_S, self.limits.header_timeout_s), self._head_timed_out)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._start_waiting()  # nothing pipelined started: idle until the next head

    # ---- bounding the head ----

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            return
        if self.waiting_timer is not None:
            self.bytes_while_waiting = True
        while data and not self.lingering and not self.transport.is_closing():
            if self.head_bytes is None:
                super().data_received(data)
                return
            room = self.limits.max_header_bytes - self.head_bytes
            if room <= 0:
                self._refuse_head()
                return
            piece, data = data[:room], data[room:]
            self.head_bytes += len(piece)
            super().data_received(piece)

    def _refuse_head(self) -> None:
        self.head_refused = True
        self._answer_and_close(self.answers["too_large"])

    def send_400_response(self, msg: str) -> None:
        # uvicorn answers 400 to any parser error; the one we raised in on_header is a 431.
        if self.head_refused:
            self._answer_and_close(self.answers["too_large"])
        else:
            super().send_400_response(msg)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.header_count = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        if self.header_count > self.limits.max_headers:
            self.head_refused = True
            raise HeadTooLarge
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._stop_waiting()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0  # what follows is the next request's head
