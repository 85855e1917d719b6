"""Fixtures for the LLM tests: a scripted OpenAI-compatible stub per test, and clients that get closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jobs.llm import LLMClient, LLMConfig

from .stub import StubLLM, serve_stub

ClientFactory = Callable[..., LLMClient]

PRODUCT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "price": {"type": "number", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["name", "price"],
}
PRODUCT = {"name": "Widget", "price": 9.5, "tags": ["blue"]}


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    yield from serve_stub(StubLLM(canned=PRODUCT))


@pytest.fixture
async def make_client(stub: StubLLM) -> AsyncIterator[ClientFactory]:
    """LLMClient against the stub; config fields may be overridden. No backoff, so retries do not wait."""
    made: list[LLMClient] = []

    def make(**overrides: Any) -> LLMClient:
        fields: dict[str, Any] = {"base_url": stub.base_url, "api_key": "sk-test", "model": "stub-model"}
        client = LLMClient(LLMConfig(**{**fields, "retry_backoff_s": 0.0, **overrides}))
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def llm(make_client: ClientFactory) -> LLMClient:
    return make_client()
