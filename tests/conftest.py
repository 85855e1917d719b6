from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from redis.asyncio import Redis as AsyncRedis

from service.settings import WebSettings
from tests.support.listeners import Canary
from tests.support.redis_server import RedisServer
from tests.support.servers import serve_in_thread
from tests.support.site import site_app

if TYPE_CHECKING:
    from tests.support.stack import Stack


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture(name="redis")
async def redis_client(redis_url: str) -> AsyncIterator[AsyncRedis]:
    """An async client on the test's Redis, for tests that look at keys directly."""
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def settings(redis_url: str) -> WebSettings:
    return WebSettings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=redis_url,
        allow_private_addresses="true",
        auth_required=False,
        submits_per_minute=0,
        allowed_ports="*",
        fetch_timeout_s=10,
        sse_keepalive_s=15,
        # Transient failures are retried as in production, without the production waits;
        # the tests of the retry schedule set their own.
        retry_base_s=0.01,
        retry_max_delay_s=0.05,
        # A retry is picked up at the worker's next poll (no wake is published for it): poll often.
        worker_poll_s=0.1,
    )


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    with serve_in_thread(site_app()) as base_url:
        yield base_url


@pytest.fixture
async def stack(settings: WebSettings) -> AsyncIterator[Stack]:
    from tests.support.stack import running_stack  # imports the worker, fetcher and extractors

    async with running_stack(settings) as running:
        yield running


@pytest.fixture
async def idle_stack(settings: WebSettings) -> AsyncIterator[Stack]:
    """The app with no worker running: jobs stay queued until a test starts one."""
    from tests.support.stack import running_stack

    async with running_stack(settings, workers=0) as running:
        yield running


@pytest.fixture
def canary() -> Iterator[Canary]:
    """A listener on 127.0.0.1 that counts connections: a refused URL must leave it at 0."""
    bait = Canary("127.0.0.1")
    yield bait
    bait.close()


@pytest.fixture
def canary6() -> Iterator[Canary]:
    """The same on ::1."""
    bait = Canary("::1")
    yield bait
    bait.close()
