"""The SDK against the app in process (httpx.ASGITransport), with the app's lifespan run."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from jobs.settings import Settings
from service.app import create_app
from service.client import Client, RetryPolicy
from tests.support.crawl_site import crawl_site_app
from tests.support.servers import serve_in_thread

# Retries in tests: as many as in real life, but without the long waits.
QUICK_RETRY = RetryPolicy(attempts=3, budget_s=30, base_s=0.01, cap_s=0.05)


@contextlib.asynccontextmanager
async def asgi_client(app: Starlette, *, front: Any = None, **kwargs: Any) -> AsyncIterator[Client]:
    """A Client talking to `app` (through `front`, if given) in process.

    ASGITransport does not run lifespans, so we run the app's.
    """
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=front or app)
        async with Client("http://scrapestream.test", transport=transport, **kwargs) as client:
            yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[Client]:
    async with asgi_client(create_app(settings)) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """The small shop site of `tests.support.crawl_site`: products with JSON-LD, a blog, robots.txt."""
    with serve_in_thread(crawl_site_app()) as base:
        yield base
