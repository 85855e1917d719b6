"""Hostile pages through the API and one real worker: typed failures, bounded memory.

Every response here is built to hurt a scraper (bombs, endless or lying
bodies, trickles, loops, binary files dressed as HTML, absurd markup). Each
must end its job with the right code, or complete with a sensible result,
and the same worker must then scrape an ordinary page as if nothing happened.
"""

from __future__ import annotations

import json
import re
import resource
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import redis

from service.settings import WebSettings
from tests.fixtures import hostile_pages
from tests.support.hostile_server import hostile_routes
from tests.support.raw_http import MB, HTTPServer, reply
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack, running_stack

from .outcome import QUICK_RETRIES, completion, failure

pytestmark = pytest.mark.asyncio(loop_scope="module")

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
EXPECTED_PRODUCTS = json.loads((PAGES / "expected_products.json").read_text())

TEN_MB = hostile_pages.ten_megabytes()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def hostile() -> AsyncIterator[HTTPServer]:
    server = await HTTPServer().start()
    r = server.routes
    r.update(hostile_routes())
    r["/deeply-nested"] = reply(body=hostile_pages.deeply_nested())  # 100,000 <div>s
    r["/unclosed-nesting"] = reply(body=hostile_pages.unclosed_nesting())
    r["/broken-jsonld"] = reply(body=(PAGES / "hostile_broken_jsonld.html").read_bytes())
    r["/broken-everything"] = reply(body=hostile_pages.broken_everything())
    r["/ten-megabytes"] = reply(body=TEN_MB)
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(redis_server: RedisServer) -> AsyncIterator[Stack]:
    """The app and ONE worker for the whole module: every case below hits the same worker."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    settings = WebSettings(
        _env_file=None, redis_url=redis_server.url, auth_required=False, submits_per_minute=0,
        allow_private_addresses="127.0.0.1/32", allowed_ports="80,443",
        fetch_timeout_s=2, fetch_max_bytes=12 * MB, **QUICK_RETRIES,
    )
    async with running_stack(settings, workers=1) as running:
        yield running


async def still_serving(stack: Stack, site: str) -> None:
    """The worker that just met a hostile page scrapes an ordinary one."""
    assert len(stack.workers) == 1
    summary, document = await completion(stack, f"{site}/plain")
    assert summary["title"] == "Plain page"
    assert "This is the main text of a plain test page" in document["markdown"]


FAILURES = [
    ("/gzip-bomb", "too_large"),
    ("/deflate-bomb", "too_large"),
    ("/raw-deflate-bomb", "too_large"),
    ("/br-bomb", "too_large"),
    ("/zstd-bomb", "too_large"),
    ("/stacked-bomb", "too_large"),
    ("/deep-encoding", "unsupported_content"),
    ("/unknown-encoding", "unsupported_content"),
    ("/endless", "too_large"),
    ("/endless-chunked", "too_large"),
    ("/huge-length", "too_large"),
    ("/trickle", "fetch_timeout"),
    ("/trickle-head", "fetch_timeout"),
    ("/lying-length", "fetch_error"),
    ("/early-close", "fetch_error"),
    ("/no-answer", "fetch_error"),
    ("/garbage", "fetch_error"),
    ("/loop-a", "fetch_error"),
    ("/self", "fetch_error"),
    ("/chain/0", "fetch_error"),
    ("/png-as-html", "unsupported_content"),
    ("/pdf-as-html", "unsupported_content"),
    ("/untyped-pdf", "unsupported_content"),
    ("/octet", "unsupported_content"),
    ("/pdf", "unsupported_content"),
    ("/nul-as-text", "unsupported_content"),
    ("/huge-headers", "too_large"),
]

# What the client reads in the failure message, so it knows what went wrong.
MESSAGES = {
    "/trickle": "did not finish within 2 s",
    "/loop-a": "redirect loop",
    "/chain/0": "too many redirects",
    "/png-as-html": "PNG",
    "/pdf-as-html": "PDF",
    "/huge-headers": "head",
    "/deep-encoding": "encod",
}


@pytest.mark.parametrize(("path", "code"), FAILURES)
async def test_a_hostile_response_fails_with_its_code_and_the_worker_goes_on(
    stack: Stack, hostile: HTTPServer, site: str, path: str, code: str
) -> None:
    error = await failure(stack, hostile.url(path))
    assert error["code"] == code, error
    assert MESSAGES.get(path, "") in error["message"], error
    await still_serving(stack, site)


def check_deeply_nested(summary: dict[str, Any], document: dict[str, Any]) -> None:
    assert summary["title"] == "Deep"
    assert document["markdown"] == "Deep inside.\n\nAfter the nesting."
    assert document["product"]["name"] == "Sturdy Widget"


def check_unclosed_nesting(summary: dict[str, Any], document: dict[str, Any]) -> None:
    assert document["markdown"].endswith("The end.")


def check_broken_jsonld(summary: dict[str, Any], document: dict[str, Any]) -> None:
    assert summary["title"] == "Summit Trekking Poles (pair) | Ridge Supply"
    assert document["product"] == EXPECTED_PRODUCTS["hostile_broken_jsonld.html"]


def check_broken_everything(summary: dict[str, Any], document: dict[str, Any]) -> None:
    assert document["product"]["name"] == "Sturdy Widget"
    assert "End." in document["markdown"]


def check_ten_megabytes(summary: dict[str, Any], document: dict[str, Any]) -> None:
    assert summary["bytes"] == len(TEN_MB) > 10_000_000
    assert summary["title"] == "Ten megabytes"
    assert summary["product"] == "Sturdy Widget"
    assert document["markdown"]


COMPLETIONS = {
    "/deeply-nested": check_deeply_nested,
    "/unclosed-nesting": check_unclosed_nesting,
    "/broken-jsonld": check_broken_jsonld,
    "/broken-everything": check_broken_everything,
    "/ten-megabytes": check_ten_megabytes,
}


@pytest.mark.parametrize("path", COMPLETIONS)
async def test_an_absurd_but_real_page_completes_and_the_worker_goes_on(
    stack: Stack, hostile: HTTPServer, site: str, path: str
) -> None:
    summary, document = await completion(stack, hostile.url(path))
    assert document["status"] == 200 and document["url"] == hostile.url(path)
    COMPLETIONS[path](summary, document)
    await still_serving(stack, site)


# Memory: the worker runs in this process, so this process's peak RSS is the worker's.

BOMBS = ["/gzip-bomb", "/deflate-bomb", "/raw-deflate-bomb", "/br-bomb", "/zstd-bomb", "/stacked-bomb",
         "/endless", "/endless-chunked", "/huge-length", "/huge-headers"]
MAX_GROWTH_MB = 256  # the bombs decode to 1 to 10 GiB each


def rss_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    assert match is not None, field
    return int(match.group(1))


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (Linux: clear_refs 5); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def test_bombs_do_not_blow_up_the_worker_memory(stack: Stack, hostile: HTTPServer, site: str) -> None:
    await still_serving(stack, site)  # everything the worker needs is loaded and warm
    if reset_peak_rss():
        before_kb = rss_kb("VmRSS")
    else:  # the peak so far: growth past it is what the bombs added
        before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    for path in BOMBS:
        assert (await failure(stack, hostile.url(path)))["code"] == "too_large", path

    growth_mb = (rss_kb("VmHWM") - before_kb) / 1024
    assert growth_mb < MAX_GROWTH_MB, f"peak RSS grew by {growth_mb:.0f} MB"
    await still_serving(stack, site)
