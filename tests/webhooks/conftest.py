"""Fixtures for the webhook tests: a verifying receiver, a canary, delivery clients that get closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from jobs.fetch import AddressPolicy
from jobs.webhooks.delivery import webhook_client
from jobs.webhooks.signing import generate_secret

from .receiver import Receiver, serve_receiver

ClientFactory = Callable[..., httpx.AsyncClient]


@pytest.fixture
def secret() -> str:
    return generate_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[Receiver]:
    yield from serve_receiver(Receiver(secret))


@pytest.fixture
async def make_client() -> AsyncIterator[ClientFactory]:
    """webhook_client(policy, ...) as a worker makes it; loopback admitted unless a test says otherwise."""
    made: list[httpx.AsyncClient] = []

    def make(policy: AddressPolicy | None = None, **kwargs: Any) -> httpx.AsyncClient:
        kwargs.setdefault("user_agent", "scrapestream-tests")
        client = webhook_client(policy or AddressPolicy(allow_private=True, allowed_ports=None), **kwargs)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()
