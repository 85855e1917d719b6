"""`Retry-After` on 429 and 503 is honoured by every call, and the retries are bounded.

`RefuseAtFirst` sits in front of the app: it refuses the first `times`
requests of each route with `status` and `Retry-After`, and refuses again
(counting it in `early`) any retry that comes back before it was allowed to.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import orjson
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from jobs.settings import Settings
from service.app import create_app
from service.client import Client, EventStreamLost, RateLimited, ServiceUnavailable
from tests.support.servers import serve_in_loop
from tests.support.stack import Stack

from .conftest import QUICK_RETRY, asgi_client

CODES = {429: "rate_limited", 503: "unavailable"}


@dataclass
class RefuseAtFirst:
    app: ASGIApp
    times: int
    status: int = 503
    retry_after: int | str = 1  # a str is sent as it is, and never waited for
    refused: Counter[str] = field(default_factory=Counter)
    early: list[str] = field(default_factory=list)
    not_before: dict[str, float] = field(default_factory=dict)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = f"{scope['method']} {scope['path']}"
        now = time.monotonic()
        if now < self.not_before.get(route, 0.0):
            self.early.append(route)
        elif self.refused[route] >= self.times:
            await self.app(scope, receive, send)
            return
        self.refused[route] += 1
        self.not_before[route] = now + (self.retry_after if isinstance(self.retry_after, int) else 0)
        body = orjson.dumps({"error": {"code": CODES[self.status], "message": "not now"}})
        headers = [(b"content-type", b"application/json"), (b"retry-after", str(self.retry_after).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def test_every_call_waits_out_503s_and_succeeds(stack: Stack, settings: Settings, site: str) -> None:
    front = RefuseAtFirst(create_app(settings), times=2)
    async with serve_in_loop(front) as base_url, Client(base_url) as client:
        job = await client.scrape(f"{site}/plain", wait=False)
        events = [event async for event in client.events(job.id)]
        record = await client.get(job.id)
        result = await client.result(job.id)
    assert events[-1].type == "completed" and record.status == "completed"
    assert result["title"] == "Plain page"
    assert front.early == []
    path = f"/jobs/{job.id}"
    assert front.refused == {"POST /jobs": 2, f"GET {path}/events": 2, f"GET {path}": 2,
                             f"GET {path}/result": 2}


async def test_429_is_waited_out_too(settings: Settings) -> None:
    app = create_app(settings)
    front = RefuseAtFirst(app, times=1, status=429)
    async with asgi_client(app, front=front) as client:
        job = await client.scrape("https://example.com/", wait=False)
        assert (await client.get(job.id)).id == job.id
        assert [listed.id async for listed in client.jobs()] == [job.id]
    assert front.early == []
    assert sorted(front.refused.values()) == [1, 1, 1]


async def never_reached(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the front refuses everything")


async def test_retries_are_bounded() -> None:
    front = RefuseAtFirst(never_reached, times=10**6, retry_after=0)
    transport = httpx.ASGITransport(app=front)
    async with Client("http://refusing.test", transport=transport, retry=QUICK_RETRY) as client:
        with pytest.raises(ServiceUnavailable) as caught:
            await client.scrape("https://example.com/")
        assert caught.value.status == 503 and caught.value.retry_after == 0
        with pytest.raises(EventStreamLost) as lost:
            [event async for event in client.events("0123456789abcdef0123456789abcdef")]
        assert isinstance(lost.value.__cause__, ServiceUnavailable) and lost.value.last_event_id is None
    assert sorted(front.refused.values()) == [1 + QUICK_RETRY.attempts] * 2


async def test_a_retry_after_beyond_the_budget_fails_at_once() -> None:
    front = RefuseAtFirst(never_reached, times=10**6, status=429, retry_after=3600)
    async with Client("http://refusing.test", transport=httpx.ASGITransport(app=front)) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get("0123456789abcdef0123456789abcdef")
    assert caught.value.retry_after == 3600 and caught.value.code == "rate_limited"
    assert sum(front.refused.values()) == 1


UNREADABLE = ["\u00b2", "\u0661\u0662", "-1", "1e3", "1.5", "soon", "Wed, 21 Oct 2015 07:28:00"]


@pytest.mark.parametrize("retry_after", UNREADABLE)
async def test_an_unreadable_retry_after_falls_back_to_the_backoff(retry_after: str, settings: Settings) -> None:
    """`\u00b2`.isdigit() is True but int() refuses it; no header may crash a call."""
    app = create_app(settings)
    front = RefuseAtFirst(app, times=1, retry_after=retry_after)
    async with asgi_client(app, front=front, retry=QUICK_RETRY) as client:
        job = await client.scrape("https://example.com/", wait=False)
        assert (await client.get(job.id)).id == job.id
    assert sorted(front.refused.values()) == [1, 1]


@pytest.mark.parametrize("retry_after", UNREADABLE)
async def test_an_unreadable_retry_after_is_none_on_the_error(retry_after: str) -> None:
    front = RefuseAtFirst(never_reached, times=10**6, status=429, retry_after=retry_after)
    async with Client("http://refusing.test", transport=httpx.ASGITransport(app=front), retry=QUICK_RETRY) as client:
        with pytest.raises(RateLimited) as caught:
            await client.get("0123456789abcdef0123456789abcdef")
    assert caught.value.retry_after is None
    assert sum(front.refused.values()) == 1 + QUICK_RETRY.attempts
