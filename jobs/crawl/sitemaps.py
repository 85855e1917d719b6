"""Seed a crawl from sitemaps: the robots.txt `Sitemap:` lines, else /sitemap.xml.

Reads <urlset> files, follows <sitemapindex> files breadth first, and takes
plain-text sitemaps (one URL a line). Bounded: at most `max_urls` URLs and
`max_files` fetches. A gzip'd sitemap is read when the fetch hands over gzip
bytes (the guarded fetcher refuses a body that is gzip data rather than
gzip-encoded, and such a sitemap is then skipped like any that fails). A
sitemap that fails to fetch or parse is skipped: sitemaps only seed the
frontier, links are followed anyway.
"""

from __future__ import annotations

import asyncio
import io
import zlib
from collections import deque
from collections.abc import Callable, Sequence

from lxml import etree

from jobs.crawl.types import Fetch
from jobs.crawl.url_normalize import normalize_url, origin_of
from jobs.errors import JobError

MAX_FILES = 20
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed
MAX_LOCATIONS = 50_000  # the sitemaps.org limit per file
PARSE_IN_THREAD_BYTES = 256 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


async def sitemap_urls(
    fetch: Fetch,
    start_url: str,
    robots_sitemaps: Sequence[str],
    *,
    max_urls: int,
    max_files: int = MAX_FILES,
    keep: Callable[[str], bool] | None = None,
) -> list[str]:
    """Page URLs listed by the site's sitemaps, normalized, deduplicated, in order.

    `keep` filters page URLs before they count toward `max_urls` (pass the
    crawl's `ScopeRules.allows`). Raises nothing but cancellation and bugs.
    """
    queue = deque(url for url in map(normalize_url, robots_sitemaps[: max_files * 4]) if url)
    if not queue:
        start = normalize_url(start_url)
        if start is None:
            return []
        queue.append(origin_of(start) + "/sitemap.xml")
    visited: set[str] = set()
    found: dict[str, None] = {}  # an ordered set
    fetches = 0
    while queue and fetches < max_files and len(found) < max_urls:
        sitemap = queue.popleft()
        if sitemap in visited:
            continue
        visited.add(sitemap)
        fetches += 1
        try:
            page = await fetch(sitemap)
        except JobError:
            continue
        if not 200 <= page.status < 300:
            continue
        if len(page.content) > PARSE_IN_THREAD_BYTES:  # megabytes of XML: the loop has other jobs to serve
            kind, locations = await asyncio.to_thread(parse_sitemap, page.content)
        else:
            kind, locations = parse_sitemap(page.content)
        for location in locations:
            url = normalize_url(location)
            if url is None:
                continue
            if kind == "index":
                if len(visited) + len(queue) < max_files * 4:  # the queue stays small too
                    queue.append(url)
            elif url not in found and (keep is None or keep(url)):
                found[url] = None
                if len(found) >= max_urls:
                    break
    return list(found)


def parse_sitemap(content: bytes, *, max_locations: int = MAX_LOCATIONS) -> tuple[str, list[str]]:
    """("index", child sitemaps) or ("urlset", page URLs) from XML, gzip'd XML or plain text."""
    if content.startswith(_GZIP_MAGIC):
        content = _gunzip(content)
    stripped = content.lstrip()
    if not stripped.startswith(b"<"):
        lines = (line.strip() for line in stripped.decode("utf-8", "replace").splitlines())
        return "urlset", [line for line in lines if line.startswith(("http://", "https://"))][:max_locations]
    kind = "urlset"
    locations: list[str] = []
    # Streamed, and each entry dropped once read: a 50 MB sitemap never becomes a 500 MB tree.
    events = etree.iterparse(
        io.BytesIO(stripped), events=("start", "end"), resolve_entities=False, no_network=True,
        load_dtd=False, huge_tree=False, recover=True, remove_comments=True, remove_pis=True,
    )
    try:
        for event, element in events:
            if not isinstance(element.tag, str):
                continue
            name = etree.QName(element).localname
            if event == "start":
                if element.getparent() is None and name == "sitemapindex":
                    kind = "index"
            elif name == "loc" and element.text:
                locations.append(element.text.strip())
                if len(locations) >= max_locations:
                    break
            elif name in ("url", "sitemap"):
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del element.getparent()[0]
    except etree.XMLSyntaxError:
        pass  # keep what came before the damage
    return kind, locations


def _gunzip(content: bytes) -> bytes:
    """Decompress at most MAX_SITEMAP_BYTES: a gzip bomb yields a truncated (unparsable) sitemap."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return decompressor.decompress(content, MAX_SITEMAP_BYTES)
    except zlib.error:
        return b""
