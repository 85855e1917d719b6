"""Fixtures for the fetcher tests: real loopback servers, fetchers that get closed.

Every test that connects anywhere takes `backend`, so it runs once per HTTP
backend (`[httpx]`, `[aiohttp]`): each guarantee must hold on both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from jobs.fetch import AddressPolicy, FetchLimits, PageFetcher
from jobs.fetch.guarded_client import BACKENDS, Backend
from tests.support.raw_http import HTTPServer

FetcherFactory = Callable[..., PageFetcher]


@pytest.fixture
async def server() -> AsyncIterator[HTTPServer]:
    srv = await HTTPServer().start()
    yield srv
    await srv.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Backend:
    """The HTTP backend under test."""
    name: Backend = request.param
    return name


@pytest.fixture
async def make_fetcher(backend: Backend) -> AsyncIterator[FetcherFactory]:
    """PageFetcher(...) on `backend` with test-friendly defaults (any loopback address, any port)."""
    made: list[PageFetcher] = []

    def make(**kwargs: Any) -> PageFetcher:
        kwargs.setdefault("limits", FetchLimits())
        kwargs.setdefault("policy", AddressPolicy(allow_private=True))
        kwargs.setdefault("backend", backend)
        fetcher = PageFetcher(**kwargs)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.aclose()
