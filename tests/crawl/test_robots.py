"""robots.txt: obeyed per RFC 9309, fetched once per origin, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from jobs.crawl import RobotsCache
from jobs.crawl.robots import ROBOTS_MAX_BYTES
from jobs.errors import BlockedAddress, FetchError, FetchTimeout, HTTPStatusError, JobError, UnsupportedContent
from jobs.fetch import AddressPolicy, FetchLimits, PageFetcher
from tests.support.servers import serve_in_thread

from .fakes import Answer, TableFetch

UA = "Scrapestream/0.1 (+https://github.com/scrapestream)"
ROBOTS = "https://example.com/robots.txt"

RULES = b"""\
User-agent: *
Disallow: /private
Allow: /private/press
Crawl-delay: 2

User-agent: scrapestream
Disallow: /no-bots
Allow: /no-bots/except-this
Crawl-delay: 5
Sitemap: https://example.com/sitemap-a.xml
Sitemap: https://example.com/sitemap-b.xml
"""


def cache_for(answer: Answer | JobError) -> tuple[RobotsCache, TableFetch]:
    fetch = TableFetch({ROBOTS: answer})
    return RobotsCache(fetch), fetch


async def test_disallow_and_allow_precedence() -> None:
    robots, _ = cache_for(Answer(200, RULES))
    # Our group wins over "*": its rules alone apply to us.
    assert not await robots.allowed("https://example.com/no-bots/page", UA)
    assert await robots.allowed("https://example.com/no-bots/except-this/page", UA)  # the longer match wins
    assert await robots.allowed("https://example.com/private", UA)
    # Anyone else gets the "*" group.
    assert not await robots.allowed("https://example.com/private/x", "OtherBot/1.0")
    assert await robots.allowed("https://example.com/private/press/x", "OtherBot/1.0")
    assert await robots.allowed("https://example.com/", "OtherBot/1.0")


async def test_crawl_delay_and_sitemaps() -> None:
    robots, _ = cache_for(Answer(200, RULES))
    assert await robots.crawl_delay("https://example.com/a", UA) == 5
    assert await robots.crawl_delay("https://example.com/a", "OtherBot") == 2
    assert await robots.sitemaps("https://example.com/") == [
        "https://example.com/sitemap-a.xml",
        "https://example.com/sitemap-b.xml",
    ]


async def test_request_rate_is_a_delay_too() -> None:
    robots, _ = cache_for(Answer(200, b"User-agent: *\nRequest-rate: 1/10s\n"))
    assert await robots.crawl_delay("https://example.com/", UA) == 10


async def test_a_huge_crawl_delay_is_capped() -> None:
    robots, _ = cache_for(Answer(200, b"User-agent: *\nCrawl-delay: 86400\n"))
    assert await robots.crawl_delay("https://example.com/", UA) == 60


async def test_no_crawl_delay() -> None:
    robots, _ = cache_for(Answer(200, b"User-agent: *\nDisallow: /x\n"))
    assert await robots.crawl_delay("https://example.com/", UA) is None


@pytest.mark.parametrize(
    "answer",
    [Answer(404), Answer(410), Answer(401), Answer(403), HTTPStatusError("gone", status=404),
     HTTPStatusError("forbidden", status=403), UnsupportedContent("an image")],
)
async def test_unavailable_robots_allows_everything(answer: Answer | JobError) -> None:
    robots, _ = cache_for(answer)
    assert await robots.allowed("https://example.com/anything", UA)
    assert (await robots.rules("https://example.com/")).verdict == "unavailable"


@pytest.mark.parametrize(
    "answer",
    [Answer(500), Answer(503), Answer(429), HTTPStatusError("down", status=503), HTTPStatusError("slow", status=429),
     FetchTimeout("timed out"), FetchError("connection refused"), BlockedAddress("a private address")],
)
async def test_unreachable_robots_disallows_everything(answer: Answer | JobError) -> None:
    robots, _ = cache_for(answer)
    assert not await robots.allowed("https://example.com/", UA)
    rules = await robots.rules("https://example.com/")
    assert rules.verdict == "unreachable"
    assert rules.detail  # the crawl can tell the client why


async def test_one_fetch_per_origin_even_when_asked_at_once() -> None:
    robots, fetch = cache_for(Answer(200, RULES))
    answers = await asyncio.gather(*(robots.allowed(f"https://example.com/p{i}", UA) for i in range(20)))
    assert all(answers)
    await robots.crawl_delay("https://example.com/x", UA)
    assert fetch.calls == {ROBOTS: 1}


async def test_each_origin_has_its_own_robots() -> None:
    fetch = TableFetch({
        "https://a.example/robots.txt": Answer(200, b"User-agent: *\nDisallow: /\n"),
        "http://a.example:8080/robots.txt": Answer(200, b"User-agent: *\nDisallow:\n"),
    })
    robots = RobotsCache(fetch)
    assert not await robots.allowed("https://a.example/x", UA)
    assert await robots.allowed("http://a.example:8080/x", UA)
    assert await robots.allowed("https://b.example/x", UA)  # 404
    assert set(fetch.calls) == {
        "https://a.example/robots.txt", "http://a.example:8080/robots.txt", "https://b.example/robots.txt",
    }


async def test_only_the_first_500_kib_is_read() -> None:
    filler = b"# " + b"x" * 1000 + b"\n"
    body = b"User-agent: *\nDisallow: /early\n" + filler * (ROBOTS_MAX_BYTES // len(filler) + 1) + b"Disallow: /late\n"
    assert len(body) > ROBOTS_MAX_BYTES
    robots, _ = cache_for(Answer(200, body))
    assert not await robots.allowed("https://example.com/early", UA)
    assert await robots.allowed("https://example.com/late", UA)


async def test_a_rule_cut_by_the_size_cap_is_dropped_whole() -> None:
    head = b"User-agent: *\n# " + b"x" * (ROBOTS_MAX_BYTES - 40) + b"\n"
    body = head + b"Allow: /abc\nDisallow: /a\n"  # the cap falls inside "Allow: /abc"
    robots, _ = cache_for(Answer(200, body))
    assert await robots.allowed("https://example.com/abcdef", UA)  # neither rule read


async def test_the_lru_bound_refetches_an_evicted_origin() -> None:
    fetch = TableFetch({})
    robots = RobotsCache(fetch, max_hosts=2)
    for host in ("a", "b", "c", "a"):
        await robots.allowed(f"https://{host}.example/", UA)
    assert fetch.calls["https://a.example/robots.txt"] == 2


async def test_a_non_http_url_is_a_value_error() -> None:
    robots, _ = cache_for(Answer(404))
    with pytest.raises(ValueError):
        await robots.allowed("mailto:x@example.com", UA)


# A real server on loopback, read through the real guarded fetcher.


def robots_site() -> Starlette:
    async def robots_txt(request: Request) -> Response:
        return PlainTextResponse(RULES.decode())

    return Starlette(routes=[Route("/robots.txt", robots_txt)])


def failing_site(status: int) -> Starlette:
    async def robots_txt(request: Request) -> Response:
        return PlainTextResponse("nope", status_code=status)

    return Starlette(routes=[Route("/robots.txt", robots_txt)])


@pytest.fixture
def site() -> Iterator[str]:
    with serve_in_thread(robots_site()) as base:
        yield base


@pytest.fixture
async def fetcher() -> AsyncIterator[PageFetcher]:
    async with PageFetcher(limits=FetchLimits(), policy=AddressPolicy(allow_private=True)) as page_fetcher:
        yield page_fetcher


async def test_real_robots_over_loopback(site: str, fetcher: PageFetcher) -> None:
    robots = RobotsCache(fetcher.fetch)
    assert not await robots.allowed(f"{site}/no-bots/a", UA)
    assert await robots.allowed(f"{site}/no-bots/except-this/a", UA)
    assert await robots.crawl_delay(f"{site}/", UA) == 5
    assert (await robots.rules(site)).verdict == "parsed"


@pytest.mark.parametrize(("status", "verdict"), [(404, "unavailable"), (403, "unavailable"), (503, "unreachable")])
async def test_real_failing_robots_over_loopback(fetcher: PageFetcher, status: int, verdict: str) -> None:
    with serve_in_thread(failing_site(status)) as base:
        robots = RobotsCache(fetcher.fetch)
        rules = await robots.rules(f"{base}/page")
    assert rules.verdict == verdict
    assert rules.can_fetch(f"{base}/page", UA) == (verdict == "unavailable")


async def test_an_unreachable_server_disallows(fetcher: PageFetcher) -> None:
    with serve_in_thread(robots_site()) as base:
        pass  # the server is gone: its port refuses connections
    robots = RobotsCache(fetcher.fetch)
    assert not await robots.allowed(f"{base}/", UA)
