"""A page that answers only when the test says so: a job that is mid-fetch for exactly as long as needed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from .servers import serve_in_thread
from .site import PLAIN_PAGE


class Gate:
    """Requests to `/gated` wait until `open()`; the page is the plain test page."""

    def __init__(self) -> None:
        self._opened = threading.Event()

    def open(self) -> None:
        self._opened.set()

    async def page(self, request: Request) -> Response:
        # A thread waits, not this loop: the fixture server keeps answering meanwhile.
        await asyncio.to_thread(self._opened.wait, 120)
        return HTMLResponse(PLAIN_PAGE)


@contextlib.contextmanager
def gated_site() -> Iterator[tuple[str, Gate]]:
    """The URL of the gated page, and its gate (opened on exit, so the server can stop)."""
    gate = Gate()
    with serve_in_thread(Starlette(routes=[Route("/gated", gate.page)])) as base_url:
        try:
            yield f"{base_url}/gated", gate
        finally:
            gate.open()
