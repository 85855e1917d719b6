"""Sitemaps seed the frontier: urlsets, index files, text and gzip'd ones, always bounded."""

from __future__ import annotations

import gzip

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from jobs.crawl import RobotsCache, parse_sitemap, sitemap_urls
from jobs.errors import FetchTimeout
from jobs.fetch import AddressPolicy, FetchLimits, PageFetcher
from tests.support.servers import serve_in_thread

from .fakes import Answer, TableFetch

SITE = "https://example.com"


def urlset(*urls: str) -> bytes:
    entries = "".join(f"<url><loc>{url}</loc><lastmod>2024-01-01</lastmod></url>" for url in urls)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def index(*sitemaps: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{url}</loc></sitemap>" for url in sitemaps)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


async def test_sitemap_xml_is_the_default() -> None:
    fetch = TableFetch({f"{SITE}/sitemap.xml": Answer(200, urlset(f"{SITE}/a", f"{SITE}/b?utm_source=x"))})
    assert await sitemap_urls(fetch, f"{SITE}/start", [], max_urls=10) == [f"{SITE}/a", f"{SITE}/b"]


async def test_robots_sitemaps_replace_the_default() -> None:
    fetch = TableFetch({f"{SITE}/maps/one.xml": Answer(200, urlset(f"{SITE}/one"))})
    found = await sitemap_urls(fetch, SITE, [f"{SITE}/maps/one.xml"], max_urls=10)
    assert found == [f"{SITE}/one"]
    assert f"{SITE}/sitemap.xml" not in fetch.calls


async def test_index_files_are_followed() -> None:
    fetch = TableFetch({
        f"{SITE}/sitemap.xml": Answer(200, index(f"{SITE}/s1.xml", f"{SITE}/s2.xml", f"{SITE}/sitemap.xml")),
        f"{SITE}/s1.xml": Answer(200, urlset(f"{SITE}/a", f"{SITE}/b")),
        f"{SITE}/s2.xml": Answer(200, urlset(f"{SITE}/b", f"{SITE}/c")),
    })
    assert await sitemap_urls(fetch, SITE, [], max_urls=10) == [f"{SITE}/a", f"{SITE}/b", f"{SITE}/c"]
    assert max(fetch.calls.values()) == 1  # an index listing itself is read once


async def test_max_urls_bounds_the_answer() -> None:
    fetch = TableFetch({f"{SITE}/sitemap.xml": Answer(200, urlset(*(f"{SITE}/p{i}" for i in range(1000))))})
    found = await sitemap_urls(fetch, SITE, [], max_urls=25)
    assert found == [f"{SITE}/p{i}" for i in range(25)]


async def test_max_files_bounds_the_fetches() -> None:
    children = [f"{SITE}/s{i}.xml" for i in range(100)]
    table: dict[str, Answer | FetchTimeout] = {f"{SITE}/sitemap.xml": Answer(200, index(*children))}
    table.update({child: Answer(200, urlset(f"{SITE}/from-{i}")) for i, child in enumerate(children)})
    fetch = TableFetch(table)  # type: ignore[arg-type]
    found = await sitemap_urls(fetch, SITE, [], max_urls=1000, max_files=5)
    assert sum(fetch.calls.values()) == 5
    assert len(found) == 4


async def test_keep_filters_before_counting() -> None:
    fetch = TableFetch({
        f"{SITE}/sitemap.xml": Answer(200, urlset("https://elsewhere.example/x", f"{SITE}/a", f"{SITE}/b")),
    })
    found = await sitemap_urls(fetch, SITE, [], max_urls=1, keep=lambda url: url.startswith(SITE))
    assert found == [f"{SITE}/a"]


async def test_failing_sitemaps_are_skipped() -> None:
    fetch = TableFetch({
        f"{SITE}/broken.xml": FetchTimeout("too slow"),
        f"{SITE}/error.xml": Answer(500, b"oops"),
        f"{SITE}/garbage.xml": Answer(200, b"<urlset><url><loc>https://example.com/half"),
        f"{SITE}/good.xml": Answer(200, urlset(f"{SITE}/good")),
    })
    sitemaps = [f"{SITE}/{name}.xml" for name in ("broken", "error", "garbage", "missing", "good")]
    found = await sitemap_urls(fetch, SITE, sitemaps, max_urls=10)
    assert found[-1] == f"{SITE}/good"


async def test_text_and_gzip_sitemaps() -> None:
    fetch = TableFetch({
        f"{SITE}/a.txt": Answer(200, b"https://example.com/t1\n\nnot a url\nhttps://example.com/t2\n"),
        f"{SITE}/b.xml.gz": Answer(200, gzip.compress(urlset(f"{SITE}/z1"))),
    })
    found = await sitemap_urls(fetch, SITE, [f"{SITE}/a.txt", f"{SITE}/b.xml.gz"], max_urls=10)
    assert found == [f"{SITE}/t1", f"{SITE}/t2", f"{SITE}/z1"]


def test_a_gzip_bomb_is_cut_short() -> None:
    """50 KiB that inflate past 51 MiB: only the first 50 MiB are ever inflated."""
    tail = b"<url><loc>https://example.com/after-the-cap</loc></url></urlset>"
    bomb = gzip.compress(b"<urlset>" + b" " * (51 * 1024 * 1024) + tail)
    assert len(bomb) < 100 * 1024
    assert parse_sitemap(bomb) == ("urlset", [])


def test_entities_are_never_expanded() -> None:
    xml = b"""<?xml version="1.0"?>
<!DOCTYPE urlset [<!ENTITY secret SYSTEM "file:///etc/hostname"><!ENTITY a "https://example.com/lol">]>
<urlset><url><loc>&secret;</loc></url><url><loc>&a;</loc></url><url><loc>https://example.com/ok</loc></url></urlset>"""
    assert parse_sitemap(xml) == ("urlset", ["https://example.com/ok"])


def test_urls_without_a_namespace_are_read() -> None:
    assert parse_sitemap(b"<urlset><url><loc> https://example.com/x </loc></url></urlset>") == (
        "urlset", ["https://example.com/x"],
    )


# A real site on loopback: robots.txt names a sitemap index, read through the guarded fetcher.


def sitemap_site() -> Starlette:
    def xml(body: bytes) -> Response:
        return Response(body, media_type="application/xml")

    async def robots_txt(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return Response(f"User-agent: *\nDisallow: /private\nSitemap: {base}/index.xml\n", media_type="text/plain")

    async def index_xml(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return xml(index(f"{base}/pages.xml", f"{base}/posts.xml"))

    async def pages_xml(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return xml(urlset(f"{base}/", f"{base}/about"))

    async def posts_xml(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return xml(urlset(f"{base}/posts/1", f"{base}/posts/2#comments"))

    return Starlette(routes=[
        Route("/robots.txt", robots_txt),
        Route("/index.xml", index_xml),
        Route("/pages.xml", pages_xml),
        Route("/posts.xml", posts_xml),
    ])


async def test_real_sitemaps_over_loopback() -> None:
    with serve_in_thread(sitemap_site()) as base:
        async with PageFetcher(limits=FetchLimits(), policy=AddressPolicy(allow_private=True)) as fetcher:
            robots = RobotsCache(fetcher.fetch)
            listed = await robots.sitemaps(base)
            found = await sitemap_urls(fetcher.fetch, base, listed, max_urls=100)
    assert listed == [f"{base}/index.xml"]
    assert found == [f"{base}/", f"{base}/about", f"{base}/posts/1", f"{base}/posts/2"]
