"""Request bodies: over MAX_BODY_BYTES is 413 however it is sent; unknown fields are 422 by name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from jobs.settings import Settings
from tests.support.stack import Stack, running_stack

LIMIT = 4096
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"max_body_bytes": LIMIT}), workers=0) as stack:
        yield stack


def padded_body(size: int) -> bytes:
    """A valid scrape request of exactly `size` bytes (JSON allows trailing whitespace)."""
    body = orjson.dumps({"type": "scrape", "url": "https://example.com/", "formats": ["markdown"]})
    assert len(body) <= size
    return body + b" " * (size - len(body))


async def chunks(body: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    """`body` as an async iterable: httpx sends it chunked, with no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def post(stack: Stack, body: bytes, *, chunked: bool) -> Any:
    content = chunks(body, 1000 if len(body) < 1024 * 1024 else 64 * 1024) if chunked else body
    response = await stack.client.post("/jobs", content=content, headers=JSON)
    sent_as = response.request.headers
    assert ("transfer-encoding" in sent_as) is chunked and ("content-length" in sent_as) is not chunked
    return response


async def still_answers(stack: Stack) -> None:
    assert (await stack.client.get("/health")).status_code == 200
    response = await stack.client.post("/jobs", json={"type": "scrape", "url": "https://example.com/"})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("size", [LIMIT + 1, 2 * LIMIT, 1024 * 1024])
async def test_a_body_over_the_limit_is_413(limited: Stack, chunked: bool, size: int) -> None:
    response = await post(limited, padded_body(size), chunked=chunked)
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "too_large"
    assert str(LIMIT) in error["message"]
    assert (await limited.client.get("/jobs")).json()["jobs"] == []  # nothing was submitted
    await still_answers(limited)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_at_the_limit_is_accepted(limited: Stack, chunked: bool) -> None:
    response = await post(limited, padded_body(LIMIT), chunked=chunked)
    assert response.status_code == 202, response.text


async def test_a_body_far_over_the_limit_still_gets_its_413(limited: Stack) -> None:
    """Regression: the 413 went out before the body was read, and closing the connection
    with unread data made the kernel reset it: the client saw a connection error."""
    response = await post(limited, b" " * (64 * 1024 * 1024), chunked=False)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    await still_answers(limited)


async def test_a_chunked_body_far_over_the_limit_gets_its_413(limited: Stack) -> None:
    response = await post(limited, b" " * (64 * 1024 * 1024), chunked=True)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    await still_answers(limited)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"URL": "http://127.0.0.1/"}, "URL"),
        ({"url ": "http://127.0.0.1/"}, "url "),
        ({"__proto__": {"admin": True}}, "__proto__"),
        ({"allow_private_addresses": "true"}, "allow_private_addresses"),
        ({"allowed_ports": "*"}, "allowed_ports"),
        ({"headers": {"Host": "metadata.google.internal"}}, "headers"),
        ({"proxy": "http://127.0.0.1:8080"}, "proxy"),
        ({"owner": "someone-else"}, "owner"),
        ({"id": "0" * 32}, "id"),
    ],
)
async def test_an_unknown_field_is_422_by_name(limited: Stack, extra: dict[str, Any], field: str) -> None:
    body = {"type": "scrape", "url": "https://example.com/", **extra}
    response = await limited.client.post("/jobs", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field
    assert field in error["message"]
    assert (await limited.client.get("/jobs")).json()["jobs"] == []
    await still_answers(limited)


async def test_every_unknown_field_is_listed(limited: Stack) -> None:
    body = {"type": "scrape", "url": "https://example.com/", "colour": "red", "size": 9}
    response = await limited.client.post("/jobs", json=body)
    assert response.status_code == 422
    assert {d["field"] for d in response.json()["error"]["details"]} == {"colour", "size"}


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 2000 + b"]" * 2000,  # nesting past any parser's recursion limit
        b'{"a":' * 600 + b"1" + b"}" * 600,
        b'{"type": "scrape", "url": "https://example.com/", "timeout_s": 1e999999}',
        b'{"type": "scrape", "url": "https://example.com/\\ud800"}',  # a lone surrogate
        b'{"type": "scrape", "url": "https://example.com/"}\x00',
        b"\xff\xfe{\x00}\x00",
    ],
)
async def test_a_hostile_json_body_is_422_and_the_app_goes_on(limited: Stack, raw: bytes) -> None:
    response = await limited.client.post("/jobs", content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] in ("invalid_body", "validation_error", "invalid_url")
    await still_answers(limited)
