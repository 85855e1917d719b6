"""robots.txt, read once per origin per crawl and obeyed (RFC 9309, parsed by Protego).

What an answer means, per RFC 9309 section 2.3.1:

    2xx                      the rules in its first 500 KiB (cut at a line end)
    4xx but 429, incl. 401   "unavailable": everything is allowed. RFC 9309 puts 401
      and 403                and 403 here too, as Google does; the 1996 convention
                             of reading them as "disallow all" is gone
    a 3xx we were handed     unavailable (the fetcher follows redirects itself; a
                             fetch callable that does not is read like a 404)
    a body that is no text   unavailable, like a 200 page with no rules in it
    429, 5xx, network error, "unreachable": nothing is allowed on that origin for
    timeout, refused address the rest of the crawl (RFC 9309: MUST assume complete
    or a body over the       disallow); the crawl tells the client why
    fetcher's own limit

Crawl-delay (and Request-rate, read as seconds per request) is honoured up to
`max_crawl_delay_s` (60 s by default): a hostile file must not stall a crawl
for days. An origin is scheme, host and port, each with a robots.txt of its own.
"""

from __future__ import annotations

import asyncio
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from protego import Protego

from jobs.crawl.types import Fetch
from jobs.crawl.url_normalize import normalize_url, origin_of
from jobs.errors import HTTPStatusError, JobError, UnsupportedContent

ROBOTS_MAX_BYTES = 500 * 1024  # RFC 9309: parse at least 500 KiB
MAX_CRAWL_DELAY_S = 60.0
MAX_HOSTS = 256

Verdict = Literal["parsed", "unavailable", "unreachable"]


@dataclass(frozen=True, slots=True)
class RobotsRules:
    """The robots.txt of one origin, as fetched: `verdict` says how to read it, `detail` why."""

    origin: str
    verdict: Verdict
    detail: str
    parser: Protego | None = field(default=None, repr=False)
    # The text the parser read: what a crawl shares with its other workers instead of fetching again.
    source: str = field(default="", repr=False)

    def can_fetch(self, url: str, user_agent: str) -> bool:
        if self.verdict == "unreachable":
            return False
        return self.parser is None or bool(self.parser.can_fetch(url, user_agent))

    def crawl_delay(self, user_agent: str) -> float | None:
        """Seconds to leave between requests, from Crawl-delay or Request-rate; None if unset."""
        if self.parser is None:
            return None
        delays = []
        crawl_delay = self.parser.crawl_delay(user_agent)
        if crawl_delay is not None:
            delays.append(float(crawl_delay))
        rate = self.parser.request_rate(user_agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        valid = [delay for delay in delays if not math.isnan(delay) and delay >= 0]
        return max(valid) if valid else None

    @property
    def sitemaps(self) -> list[str]:
        return [] if self.parser is None else list(self.parser.sitemaps)


class RobotsCache:
    """Fetches each origin's robots.txt once, through the crawl's own `fetch`, and answers from it.

    Concurrent questions about one origin share one fetch. At most `max_hosts`
    origins are kept (least recently used go first), so a crawl across many
    subdomains stays bounded; an evicted origin is fetched again if it comes back.
    `load` replaces the fetch of an origin's rules (a crawl spread over workers
    reads them from its shared state, and fetches them only when no one has).
    """

    def __init__(
        self, fetch: Fetch, *, max_hosts: int = MAX_HOSTS, max_crawl_delay_s: float = MAX_CRAWL_DELAY_S,
        load: Callable[[str], Awaitable[RobotsRules]] | None = None,
    ) -> None:
        self._fetch = fetch
        self._load = load or self.fetch_rules
        self._max_hosts = max_hosts
        self._max_crawl_delay_s = max_crawl_delay_s
        self._rules: OrderedDict[str, RobotsRules] = OrderedDict()
        self._loading: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: str, user_agent: str) -> bool:
        """Whether robots.txt lets `user_agent` fetch `url`."""
        return (await self.rules(url)).can_fetch(url, user_agent)

    async def crawl_delay(self, url: str, user_agent: str) -> float | None:
        """The delay robots.txt asks of `user_agent` on `url`'s origin, capped; None if none."""
        return self.capped_delay(await self.rules(url), user_agent)

    async def sitemaps(self, url: str) -> list[str]:
        """The `Sitemap:` lines of the robots.txt of `url`'s origin."""
        return (await self.rules(url)).sitemaps

    async def rules(self, url: str) -> RobotsRules:
        """The rules for `url`'s origin, fetched on first use. ValueError for a non-http(s) URL."""
        normalized = normalize_url(url)
        if normalized is None:
            raise ValueError(f"not an http(s) URL: {url[:200]!r}")
        origin = origin_of(normalized)
        rules = self._cached(origin)
        if rules is not None:
            return rules
        lock = self._loading.setdefault(origin, asyncio.Lock())
        async with lock:
            rules = self._cached(origin)
            if rules is None:
                rules = await self._load(origin)
                self._rules[origin] = rules
                while len(self._rules) > self._max_hosts:
                    self._rules.popitem(last=False)
        self._loading.pop(origin, None)
        return rules

    def _cached(self, origin: str) -> RobotsRules | None:
        rules = self._rules.get(origin)
        if rules is not None:
            self._rules.move_to_end(origin)
        return rules

    def capped_delay(self, rules: RobotsRules, user_agent: str) -> float | None:
        """`rules`' Crawl-delay for `user_agent`, capped; None if none."""
        delay = rules.crawl_delay(user_agent)
        return None if delay is None else min(delay, self._max_crawl_delay_s)

    async def fetch_rules(self, origin: str) -> RobotsRules:
        """GET the origin's robots.txt and read it (never raises for what the server does)."""
        try:
            page = await self._fetch(origin + "/robots.txt")
        except HTTPStatusError as exc:
            return rules_for_status(origin, exc.status, b"")
        except UnsupportedContent as exc:
            return RobotsRules(origin, "unavailable", f"robots.txt is not text: {exc.message}")
        except JobError as exc:
            return RobotsRules(origin, "unreachable", f"robots.txt could not be fetched: {exc.message}")
        return rules_for_status(origin, page.status, page.content)


def rules_for_status(origin: str, status: int, content: bytes) -> RobotsRules:
    """Read a robots.txt answer the RFC 9309 way (see the module docstring)."""
    if 200 <= status < 300:
        text = _text(content)
        return RobotsRules(origin, "parsed", f"robots.txt answered {status}", Protego.parse(text), text)
    if 300 <= status < 500 and status != 429:
        return RobotsRules(origin, "unavailable", f"robots.txt answered {status}: no rules")
    return RobotsRules(origin, "unreachable", f"robots.txt answered {status}: nothing may be fetched")


def rules_from_source(origin: str, verdict: Verdict, detail: str, source: str) -> RobotsRules:
    """Rules as another worker read them (`RobotsRules.source`), without fetching again."""
    return RobotsRules(origin, verdict, detail, Protego.parse(source) if verdict == "parsed" else None, source)


def _text(content: bytes) -> str:
    if len(content) > ROBOTS_MAX_BYTES:
        # A rule cut in half could say something else ("Allow: /a" of "Allow: /abc").
        content = content[:ROBOTS_MAX_BYTES]
        content = content[: content.rfind(b"\n") + 1]
    return content.decode("utf-8", "replace").removeprefix("\ufeff")
