"""The uvicorn internals the SSE fast path reads: if uvicorn changes them, this fails and names them.

`service.sse.ClientSink.try_write` writes a chunk straight to the socket when
uvicorn's httptools `send` would not wait, reading the request cycle behind
that `send`. Should uvicorn rename or drop any of it, the fast path would
quietly turn itself off (every write would take the awaited ASGI path, see
bench/followers.py); this test makes that loud. uvicorn's version is bounded in
pyproject.toml; raise the bound once this passes on the new version.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import uvicorn
from starlette.types import Receive, Scope, Send

from service.sse import ClientSink
from tests.support.servers import bound_socket

CYCLE = "uvicorn.protocols.http.httptools_impl.RequestResponseCycle"


class InspectingApp:
    """Answers one SSE response through `ClientSink`, noting what it found behind `send`."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.fast_path_taken = False

    def check(self, ok: bool, internal: str, why: str) -> None:
        if not ok:
            self.problems.append(f"uvicorn internal `{internal}` changed: {why}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle: Any = getattr(send, "__self__", None)
        found = f"{type(cycle).__module__}.{type(cycle).__qualname__}"
        self.check(found == CYCLE, f"{CYCLE}.send", f"httptools' ASGI `send` is a method of {found}")
        transport = getattr(cycle, "transport", None)
        self.check(isinstance(transport, asyncio.WriteTransport), "RequestResponseCycle.transport",
                   f"expected the connection's asyncio transport, found {transport!r}")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        self.check(getattr(cycle, "chunked_encoding", None) is True, "RequestResponseCycle.chunked_encoding",
                   "not True for a response without Content-Length (ClientSink writes chunked framing itself)")
        self.check(getattr(cycle, "response_complete", None) is False, "RequestResponseCycle.response_complete",
                   "not False while the body is still open")
        self.check(getattr(cycle, "response_started", None) is True, "RequestResponseCycle.response_started",
                   "not True once the head is sent (service/http_guard.py's shutdown ends open streams by it)")
        sink = ClientSink(send)
        self.fast_path_taken = sink.try_write(b"data: direct\n\n")
        await sink.write(b"data: awaited\n\n")
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.check(getattr(cycle, "response_complete", None) is True, "RequestResponseCycle.response_complete",
                   "not True once the last body message is sent")


async def test_uvicorn_request_cycle_still_offers_what_the_sse_fast_path_reads() -> None:
    app = InspectingApp()
    sock = bound_socket()
    config = uvicorn.Config(app, http="httptools", lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # the test runner owns signals
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://{host}:{port}/")
    finally:
        server.should_exit = True
        await serving
        sock.close()
    assert app.problems == []
    assert app.fast_path_taken, "ClientSink.try_write refused a plain open response: the uvicorn fast path is off"
    # Chunks written around uvicorn arrive in order, framed as uvicorn frames its own.
    assert response.text == "data: direct\n\ndata: awaited\n\n"
