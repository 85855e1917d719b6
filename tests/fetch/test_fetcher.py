"""PageFetcher odds and ends: hostile DNS, headers, lifecycle, error translation."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest

from jobs.errors import FetchError, FetchTimeout, InvalidURL, JobError, TooLarge
from jobs.fetch import (
    AddressPolicy,
    FetchLimits,
    PageFetcher,
    SystemResolver,
    translate_error,
)
from jobs.fetch.guarded_client import Backend
from tests.support.raw_http import HTTPServer, reply

from .conftest import FetcherFactory


class HostileDNS:
    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour

    async def resolve(self, host: str, port: int) -> list[str]:
        if self.behaviour == "hang":
            await asyncio.Event().wait()
        if self.behaviour == "crash":
            raise RuntimeError("resolver exploded")
        if self.behaviour == "garbage":
            return ["definitely not an address"]
        return []


@pytest.mark.parametrize(
    ("behaviour", "error"),
    [("crash", FetchError), ("garbage", FetchError), ("empty", FetchError), ("hang", FetchTimeout)],
)
async def test_a_hostile_resolver_never_crashes_the_caller(
    behaviour: str, error: type[JobError], make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher(
        resolver=HostileDNS(behaviour), limits=FetchLimits(connect_timeout_s=0.2)
    )
    with pytest.raises(error):
        await fetcher.fetch("http://dns.test/")


async def test_the_system_resolver_answers_addresses() -> None:
    assert "127.0.0.1" in await SystemResolver().resolve("localhost", 80)


async def test_caller_headers_are_sent(server: HTTPServer, make_fetcher: FetcherFactory) -> None:
    server.routes["/"] = reply(body=b"<p>x</p>")
    await make_fetcher().fetch(server.url("/"), headers={"Accept-Language": "fr", "X-Job": "42"})
    assert server.requests[0].headers["accept-language"] == "fr"
    assert server.requests[0].headers["x-job"] == "42"


async def test_the_fetcher_is_an_async_context_manager(server: HTTPServer, backend: Backend) -> None:
    server.routes["/"] = reply(body=b"<p>x</p>")
    limits, policy = FetchLimits(), AddressPolicy(allow_private=True)
    async with PageFetcher(limits=limits, policy=policy, backend=backend) as fetcher:
        assert (await fetcher.fetch(server.url("/"))).content == b"<p>x</p>"
    with pytest.raises(FetchError):  # closed: it refuses politely, as a JobError
        await fetcher.fetch(server.url("/"))


async def test_validate_errors_surface_unchanged(make_fetcher: FetcherFactory) -> None:
    with pytest.raises(InvalidURL, match="scheme"):
        await make_fetcher().fetch("ftp://example.com/")


def test_translate_error_keeps_job_errors_and_wraps_everything_else() -> None:
    original = TooLarge("big")
    assert translate_error(original, "https://example.com/") is original
    assert isinstance(translate_error(ValueError("odd"), "https://example.com/"), FetchError)
    assert isinstance(translate_error(httpx.ReadTimeout("slow"), "u"), FetchTimeout)
    assert isinstance(translate_error(httpx.ConnectTimeout("slow"), "u"), FetchTimeout)
    assert isinstance(translate_error(httpx.RemoteProtocolError("bad"), "u"), FetchError)
    deadline = translate_error(TimeoutError(), "https://example.com/", deadline_s=30)
    assert isinstance(deadline, FetchTimeout)
    assert "within 30 s" in deadline.message


def test_translate_error_gives_aiohttp_errors_the_codes_of_their_httpx_twins() -> None:
    connecting = translate_error(aiohttp.ConnectionTimeoutError("slow"), "u")
    assert isinstance(connecting, FetchTimeout)
    assert "connecting" in connecting.message
    assert isinstance(translate_error(aiohttp.SocketTimeoutError("slow"), "u"), FetchTimeout)
    assert isinstance(translate_error(aiohttp.ServerDisconnectedError(), "u"), FetchError)
    assert isinstance(translate_error(aiohttp.ClientPayloadError("cut short"), "u"), FetchError)
    assert isinstance(translate_error(aiohttp.InvalidURL("http://127.1/"), "u"), InvalidURL)
