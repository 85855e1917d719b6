"""The connection pool under load: shared, reused, never handing out a dead connection."""

from __future__ import annotations

import asyncio

from jobs.fetch import FetchLimits
from tests.support.raw_http import HTTPServer, Request, reply

from .conftest import FetcherFactory


async def test_concurrent_fetches_share_a_bounded_set_of_connections(
    server: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    server.routes["/page"] = reply(body=b"<p>%d</p>" % 7)
    fetcher = make_fetcher()
    for _ in range(3):
        pages = await asyncio.gather(*(fetcher.fetch(server.url(f"/page?{i}")) for i in range(40)))
        assert all(page.content == b"<p>7</p>" for page in pages)
    assert len(server.requests) == 120
    assert server.connections <= 40  # later rounds reuse the first round's connections


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    server: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """Keep-alive in the headers, then the server hangs up: the next fetch must not fail."""
    closed = asyncio.Event()
    page = reply(body=b"<p>x</p>")

    async def then_hang_up(request: Request, writer: asyncio.StreamWriter) -> bool:
        await page(request, writer)
        writer.close()
        await writer.wait_closed()
        closed.set()
        return False

    server.routes["/once"] = then_hang_up
    fetcher = make_fetcher(limits=FetchLimits())
    await fetcher.fetch(server.url("/once"))
    await closed.wait()
    closed.clear()
    assert (await fetcher.fetch(server.url("/once"))).content == b"<p>x</p>"
    assert server.connections == 2
