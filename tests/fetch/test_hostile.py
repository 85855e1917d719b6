"""The fetcher against a hostile server that controls every byte it sends."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import brotli
import pytest
import zstandard

from jobs.errors import (
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TooLarge,
    UnsupportedContent,
)
from jobs.fetch import FetchedPage, FetchLimits
from tests.support.bombs import deflate, gzip
from tests.support.hostile_server import HTML, PDF, hostile_routes
from tests.support.listeners import BlackHole, free_port
from tests.support.raw_http import MB, Handler, HTTPServer, Request, head, raw, redirect, reply

from .conftest import FetcherFactory

T = TypeVar("T")



@pytest.fixture
async def hostile() -> AsyncIterator[HTTPServer]:
    srv = await HTTPServer().start()
    r = srv.routes
    r.update(hostile_routes())  # bombs, endless and lying bodies, loops, binaries: shared with tests/security
    r["/page"] = reply(body=HTML)
    r["/latin1"] = reply(
        body="<html><title>Caf\u00e9</title><p>\u00e0 bient\u00f4t</p></html>".encode("latin-1"),
        content_type="text/html; charset=ISO-8859-1",
    )
    r["/json"] = reply(body=b'{"a": 1}', content_type="application/json")
    r["/ld+json"] = reply(body=b'{"@context": "x"}', content_type="application/ld+json")
    r["/rss"] = reply(body=b"<?xml version='1.0'?><rss/>", content_type="application/rss+xml")
    r["/xhtml"] = reply(body=HTML, content_type="application/xhtml+xml")
    r["/text"] = reply(body=b"just words", content_type="text/plain")
    r["/untyped-html"] = reply(body=b"\n  <!DOCTYPE html><p>x</p>", content_type=None)
    r["/untyped-xml"] = reply(body=b"<?xml version='1.0'?><a/>", content_type=None)
    r["/untyped-text"] = reply(body=b"plain words", content_type=None)
    r["/garbled-type"] = reply(body=HTML, content_type="html, please")
    r["/empty"] = reply(body=b"")
    r["/large"] = reply(body=b"<html>" + b"<p>a paragraph</p>" * 150_000)  # 2.7 MB

    r["/gzip"] = reply(body=gzip(HTML), headers=[("Content-Encoding", "gzip")])
    r["/x-gzip"] = reply(body=gzip(HTML), headers=[("Content-Encoding", "x-gzip")])
    r["/gzip-members"] = reply(
        body=gzip(HTML[:40]) + gzip(HTML[40:]), headers=[("Content-Encoding", "gzip")]
    )
    r["/deflate-zlib"] = reply(body=deflate(HTML), headers=[("Content-Encoding", "deflate")])
    r["/deflate-raw"] = reply(
        body=deflate(HTML, raw_deflate=True), headers=[("Content-Encoding", "deflate")]
    )
    r["/br"] = reply(body=brotli.compress(HTML), headers=[("Content-Encoding", "br")])
    r["/zstd"] = reply(
        body=zstandard.ZstdCompressor().compress(HTML), headers=[("Content-Encoding", "zstd")]
    )
    r["/stacked"] = reply(
        body=brotli.compress(gzip(HTML)), headers=[("Content-Encoding", "gzip, br")]
    )
    r["/stacked-3"] = reply(
        body=gzip(zstandard.ZstdCompressor().compress(deflate(HTML))),
        headers=[("Content-Encoding", "deflate"), ("Content-Encoding", "zstd, gzip")],
    )
    r["/gzip-truncated"] = reply(body=gzip(HTML)[:-12], headers=[("Content-Encoding", "gzip")])
    r["/gzip-corrupt"] = reply(body=b"\x1f\x8b" + b"\xff" * 50, headers=[("Content-Encoding", "gzip")])

    r["/compressible"] = reply(
        body=gzip(b"<p>" + b"a" * 900_000 + b"</p>"), headers=[("Content-Encoding", "gzip")]
    )
    r["/pdf-gzipped-as-html"] = reply(body=gzip(PDF), headers=[("Content-Encoding", "gzip")])

    page = [("Content-Type", "text/html")]
    r["/hop-1"] = redirect("/hop-2", "301 Moved Permanently")
    r["/hop-2"] = redirect(f"http://localhost:{srv.port}/page", "307 Temporary Redirect")
    r["/needs-cookie"] = _cookie_gate()

    r["/video"] = reply(body=b"....", content_type="video/mp4")

    r["/big-headers"] = reply(body=HTML, headers=[(f"X-Pad-{i}", "v" * 1000) for i in range(80)])
    r["/long-header"] = reply(body=HTML, headers=[("X-Pad", "v" * 70_000)])
    r["/many-headers"] = reply(body=HTML, headers=[("X", "")] * 14_000)
    tall = head("200 OK", [(f"X-Pad-{i}", "v" * 60_000) for i in range(120)])  # 7 MB
    r["/tall-head"] = raw(*(tall[i : i + 64 * 1024] for i in range(0, len(tall), 64 * 1024)))
    r["/404"] = reply("404 Not Found", b"<p>gone</p>")
    r["/503"] = reply("503 Service Unavailable", b"<p>later</p>")
    r["/429"] = reply("429 Too Many Requests", b"")
    r["/599"] = reply("599 Strange Thing", b"")
    r["/slow-404"] = raw(
        head("404 Not Found", [*page, ("Content-Length", "100")]), *[b"a"] * 100, delay_s=0.5
    )
    yield srv
    await srv.close()


def _cookie_gate() -> Handler:
    """Redirects to itself with a cookie until the cookie comes back (a common wall)."""
    ok = reply(body=HTML)
    again = redirect("/needs-cookie", set_cookie="seen=1; Path=/")

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        gate = ok if "seen=1" in request.headers.get("cookie", "") else again
        return await gate(request, writer)

    return handler


async def fetch(make: FetcherFactory, srv: HTTPServer, path: str, **limits: Any) -> FetchedPage:
    return await make(limits=FetchLimits(**limits)).fetch(srv.url(path))


async def peak_memory(work: Callable[[], Awaitable[T]]) -> tuple[T | BaseException, int]:
    """(result or exception, peak bytes traced) of `work`."""
    tracemalloc.start()
    try:
        result: T | BaseException = await work()
    except Exception as exc:
        result = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak


# Pages that are fine.


async def test_a_normal_html_page(hostile: HTTPServer, make_fetcher: FetcherFactory) -> None:
    page = await fetch(make_fetcher, hostile, "/page")
    assert page.url == hostile.url("/page")
    assert page.status == 200
    assert page.content == HTML
    assert page.media_type == "text/html"
    assert page.charset == "utf-8"
    assert page.header("Content-Type") == "text/html; charset=utf-8"
    assert ("content-length", str(len(HTML))) in page.headers
    assert page.redirects == []
    assert page.elapsed_ms > 0


async def test_a_large_page_arrives_whole(hostile: HTTPServer, make_fetcher: FetcherFactory) -> None:
    page = await fetch(make_fetcher, hostile, "/large")
    assert len(page.content) == 6 + 18 * 150_000
    assert page.content.endswith(b"<p>a paragraph</p>")


async def test_a_latin1_page_keeps_its_bytes_and_charset(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    page = await fetch(make_fetcher, hostile, "/latin1")
    assert page.charset == "iso-8859-1"
    assert "\u00e0 bient\u00f4t" in page.content.decode(page.charset)


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/json", "application/json"),
        ("/ld+json", "application/ld+json"),
        ("/rss", "application/rss+xml"),
        ("/xhtml", "application/xhtml+xml"),
        ("/text", "text/plain"),
        ("/untyped-html", "text/html"),
        ("/untyped-xml", "application/xml"),
        ("/untyped-text", "text/plain"),
        ("/garbled-type", "text/html"),
        ("/empty", "text/html"),
    ],
)
async def test_page_types_are_accepted_and_missing_ones_sniffed(
    path: str, media_type: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    page = await fetch(make_fetcher, hostile, path)
    assert page.media_type == media_type


@pytest.mark.parametrize(
    "path",
    ["/gzip", "/x-gzip", "/gzip-members", "/deflate-zlib", "/deflate-raw", "/br", "/zstd",
     "/stacked", "/stacked-3"],
)
async def test_compressed_pages_are_decoded(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    page = await fetch(make_fetcher, hostile, path)
    assert page.content == HTML
    assert page.media_type == "text/html"


async def test_the_fetcher_asks_for_compression_and_identifies_itself(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    await fetch(make_fetcher, hostile, "/page")
    headers = hostile.requests[0].headers
    assert headers["accept-encoding"] == "gzip, deflate, br, zstd"
    assert headers["user-agent"].startswith("Scrapestream/")
    assert "text/html" in headers["accept"]


async def test_connections_are_pooled_across_fetches(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher()
    for path in ("/page", "/gzip", "/404", "/chain/28", "/page"):
        with contextlib.suppress(HTTPStatusError):
            await fetcher.fetch(hostile.url(path))
    assert len(hostile.requests) == 7
    assert hostile.connections == 1


# Bombs and endless bodies: TooLarge, with bounded memory.

BOMBS = ["/gzip-bomb", "/deflate-bomb", "/raw-deflate-bomb", "/br-bomb", "/zstd-bomb",
         "/stacked-bomb"]


@pytest.mark.parametrize("path", BOMBS)
async def test_decompression_bombs_fail_with_bounded_memory(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """Each bomb decodes to at least 1 GiB (the gzip one to 10 GiB)."""
    fetcher = make_fetcher(limits=FetchLimits())  # max_bytes 10 MiB
    result, peak = await peak_memory(lambda: fetcher.fetch(hostile.url(path)))
    assert isinstance(result, TooLarge), result
    assert peak < 16 * MB


@pytest.mark.parametrize("path", BOMBS)
async def test_the_ratio_limit_stops_bombs_when_the_size_limit_is_far(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher(limits=FetchLimits(max_bytes=4 * 1024 * MB))
    result, peak = await peak_memory(lambda: fetcher.fetch(hostile.url(path)))
    assert isinstance(result, TooLarge), result
    assert "200 times" in str(result)
    assert peak < 16 * MB


async def test_a_small_page_may_compress_very_well(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """Below 1 MiB decoded the ratio is not judged: 900 KB of repetitive markup is fine."""
    page = await fetch(make_fetcher, hostile, "/compressible")
    assert len(page.content) == 900_007


@pytest.mark.parametrize("path", ["/endless", "/endless-chunked", "/huge-length"])
async def test_endless_bodies_are_too_large(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher(limits=FetchLimits(max_bytes=MB))
    result, peak = await peak_memory(lambda: fetcher.fetch(hostile.url(path)))
    assert isinstance(result, TooLarge), result
    assert peak < 16 * MB


@pytest.mark.parametrize("path", ["/unknown-encoding", "/deep-encoding"])
async def test_unknown_encodings_are_refused(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(UnsupportedContent, match="encod"):
        await fetch(make_fetcher, hostile, path)


@pytest.mark.parametrize("path", ["/gzip-truncated", "/gzip-corrupt"])
async def test_broken_compressed_bodies_are_fetch_errors(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(FetchError):
        await fetch(make_fetcher, hostile, path)


# Slow, lying and broken servers.


@pytest.mark.parametrize("path", ["/trickle", "/trickle-head"])
async def test_a_trickle_fails_at_the_total_deadline(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """One byte every 0.5 s never trips the read timeout; only the total deadline stops it."""
    with pytest.raises(FetchTimeout, match="did not finish within 2 s"):
        await fetch(make_fetcher, hostile, path, total_timeout_s=2, read_timeout_s=15)


@pytest.mark.parametrize("path", ["/lying-length", "/early-close", "/no-answer", "/garbage"])
async def test_lying_and_broken_responses_are_fetch_errors(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(FetchError):
        await fetch(make_fetcher, hostile, path)


async def test_a_server_that_hangs_up_without_answering_is_asked_once(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """No silent second attempt below the fetcher: retrying is the worker's decision."""
    with pytest.raises(FetchError):
        await fetch(make_fetcher, hostile, "/no-answer")
    assert [r.path for r in hostile.requests] == ["/no-answer"]


async def test_a_refused_connection_is_a_fetch_error(make_fetcher: FetcherFactory) -> None:
    with pytest.raises(FetchError, match="could not connect"):
        await make_fetcher().fetch(f"http://127.0.0.1:{free_port()}/")


async def test_a_connect_timeout_is_a_fetch_timeout(make_fetcher: FetcherFactory) -> None:
    hole = BlackHole()
    try:
        fetcher = make_fetcher(limits=FetchLimits(connect_timeout_s=0.3))
        with pytest.raises(FetchTimeout, match="connecting"):
            await fetcher.fetch(f"http://127.0.0.1:{hole.port}/")
    finally:
        hole.close()


async def test_the_fetcher_survives_hostile_servers(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher(limits=FetchLimits(max_bytes=MB))
    for path in ("/garbage", "/endless", "/gzip-bomb", "/early-close", "/huge-headers"):
        with pytest.raises((FetchError, TooLarge)):
            await fetcher.fetch(hostile.url(path))
    assert (await fetcher.fetch(hostile.url("/page"))).content == HTML


# Redirects.


async def test_redirects_are_followed_and_recorded(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    page = await fetch(make_fetcher, hostile, "/hop-1")
    assert page.url == f"http://localhost:{hostile.port}/page"
    assert page.redirects == [hostile.url("/hop-1"), hostile.url("/hop-2")]
    assert page.content == HTML


@pytest.mark.parametrize("path", ["/loop-a", "/self"])
async def test_a_redirect_loop_is_a_fetch_error(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(FetchError, match="loop"):
        await fetch(make_fetcher, hostile, path)


async def test_too_many_redirects_is_a_fetch_error(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch(make_fetcher, hostile, "/chain/0")
    assert len(hostile.requests) == 11  # the first request and 10 redirects
    page = await fetch(make_fetcher, hostile, "/chain/0", max_redirects=30)
    assert len(page.redirects) == 30
    with pytest.raises(FetchError, match="too many redirects"):
        await fetch(make_fetcher, hostile, "/hop-1", max_redirects=0)


async def test_a_cookie_set_on_a_redirect_is_sent_on_the_next_hop_only_in_that_fetch(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher()
    page = await fetcher.fetch(hostile.url("/needs-cookie"))
    assert page.content == HTML
    assert page.redirects == [hostile.url("/needs-cookie")]
    await fetcher.fetch(hostile.url("/page"))
    assert "cookie" not in hostile.requests[-1].headers  # nothing leaks into later fetches


async def test_credentials_are_not_carried_to_another_origin(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    fetcher = make_fetcher()
    await fetcher.fetch(hostile.url("/hop-1"), headers={"Authorization": "Bearer s3cret"})
    by_path = {r.path: r.headers for r in hostile.requests}
    assert by_path["/hop-2"]["authorization"] == "Bearer s3cret"  # same origin
    assert "authorization" not in by_path["/page"]  # localhost:port is another origin


# Content that is not a page.


@pytest.mark.parametrize(
    "path",
    ["/pdf-as-html", "/png-as-html", "/nul-as-text", "/untyped-pdf", "/octet", "/pdf", "/video",
     "/pdf-gzipped-as-html"],
)
async def test_binary_content_is_unsupported_whatever_the_header_says(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(UnsupportedContent):
        await fetch(make_fetcher, hostile, path, max_bytes=MB)


# Heads and statuses.


@pytest.mark.parametrize("path", ["/huge-headers", "/big-headers", "/long-header", "/many-headers"])
async def test_oversized_response_headers_are_too_large(
    path: str, hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """1 MiB trips the parser's own cap while reading; 80 KiB trips max_header_bytes,
    whether in many lines, one long line or very many short ones."""
    with pytest.raises(TooLarge, match="head"):
        await fetch(make_fetcher, hostile, path)


async def test_a_tall_head_of_legal_lines_is_refused_with_bounded_memory(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """120 header lines of 60 KB: each within a per-line limit, 7 MB together.

    aiohttp bounds each line and the number of lines, not their sum; without
    a cap on the whole head it parsed all 7 MB before anything judged it.
    """
    fetcher = make_fetcher()
    result, peak = await peak_memory(lambda: fetcher.fetch(hostile.url("/tall-head")))
    assert isinstance(result, TooLarge), result
    assert peak < 4 * MB  # 15 MB when the whole head was parsed


async def test_a_header_limit_can_be_lowered(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(TooLarge):
        await fetch(make_fetcher, hostile, "/page", max_header_bytes=40)


@pytest.mark.parametrize(
    ("path", "status", "transient", "reason"),
    [
        ("/404", 404, False, "404 Not Found"),
        ("/503", 503, True, "503 Service Unavailable"),
        ("/429", 429, True, "429 Too Many Requests"),
        ("/599", 599, True, "599 Strange Thing"),
    ],
)
async def test_error_statuses_raise_http_status_error(
    path: str,
    status: int,
    transient: bool,
    reason: str,
    hostile: HTTPServer,
    make_fetcher: FetcherFactory,
) -> None:
    with pytest.raises(HTTPStatusError) as info:
        await fetch(make_fetcher, hostile, path)
    assert info.value.status == status
    assert info.value.is_transient is transient
    assert str(info.value) == f"{hostile.url(path)} answered {reason}"


async def test_a_slow_error_page_is_still_an_http_status_error(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    with pytest.raises(HTTPStatusError):
        await fetch(make_fetcher, hostile, "/slow-404", total_timeout_s=5)


async def test_cancelling_a_fetch_cancels_it_and_leaves_the_fetcher_usable(
    hostile: HTTPServer, make_fetcher: FetcherFactory
) -> None:
    """Cancellation (a cancelled job) is not a fetch error: it must propagate untouched."""
    fetcher = make_fetcher()
    task = asyncio.create_task(fetcher.fetch(hostile.url("/trickle")))
    await hostile.wait_for_request("/trickle")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await fetcher.fetch(hostile.url("/page"))).content == HTML
