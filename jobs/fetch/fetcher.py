"""PageFetcher: one guarded GET of a page, redirects followed by hand.

Per fetch: validate the URL, then per hop send, check the status, and either
re-validate the Location and go on, or check the type, read the body within
the limits and sniff it. All under one deadline; errors from below are
translated once, at the end (translate.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from jobs.errors import BlockedAddress, FetchError, HTTPStatusError, InvalidURL, JobError
from jobs.fetch.addresses import AddressPolicy
from jobs.fetch.body import read_body
from jobs.fetch.content_sniffing import check_declared, parse_content_type, sniff
from jobs.fetch.decompress import ACCEPT_ENCODING
from jobs.fetch.guarded_client import DEFAULT_BACKEND, DEFAULT_USER_AGENT, Backend, guarded_client
from jobs.fetch.limits import FetchLimits
from jobs.fetch.resolver import Resolver
from jobs.fetch.translate import READ_ERRORS, translate_error
from jobs.fetch.url_validation import validate_url
from streams.ascii_decimal import parse_ascii_decimal

ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,"
    "application/json;q=0.8,text/plain;q=0.7,*/*;q=0.1"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Redirects and error pages this small are read to the end so that their
# keep-alive connection goes back to the pool (a crawl meets many), unless
# that takes long: a slow error page must not turn into a timeout.
DRAIN_BYTES = 64 * 1024
DRAIN_TIMEOUT_S = 1.0
# Sent by the caller for one site; never carried to another origin.
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A fetched page. `headers` are (lower-case name, value) pairs in arrival order."""

    url: str  # final URL, after redirects
    status: int
    headers: list[tuple[str, str]]
    content: bytes  # decoded body, at most max_bytes
    media_type: str  # e.g. "text/html": lower case, no parameters
    charset: str | None  # from Content-Type, lower case; None if absent or unknown to Python
    redirects: list[str]  # every URL that redirected, in order: the chain is redirects + [url]
    elapsed_ms: float

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        name = name.lower()
        return next((value for key, value in self.headers if key == name), None)


@dataclass(slots=True)
class _Hop:
    url: str


STASHED_LOCATIONS = "scrapestream.locations"


async def _stash_location(response: httpx.Response) -> None:
    response.extensions[STASHED_LOCATIONS] = response.headers.get_list("location")
    if "location" in response.headers:
        del response.headers["location"]


class PageFetcher:
    """Fetches pages from the open internet safely. Make one per process and reuse it."""

    def __init__(
        self,
        *,
        limits: FetchLimits,
        policy: AddressPolicy,
        user_agent: str = DEFAULT_USER_AGENT,
        resolver: Resolver | None = None,
        backend: Backend = DEFAULT_BACKEND,
    ) -> None:
        self.limits = limits
        self.policy = policy
        self._client = guarded_client(policy, limits, resolver, user_agent=user_agent, backend=backend)
        # httpx builds the next request from Location inside `send()` (even without
        # following it) and fails there on a garbled one, as a protocol error. Take
        # Location away before it looks, so every hop is judged by `_redirect_target`.
        self._client.event_hooks["response"].append(_stash_location)
        self._headers = httpx.Headers({"Accept": ACCEPT, "Accept-Encoding": ACCEPT_ENCODING})

    async def fetch(self, url: str, *, headers: Mapping[str, str] | None = None) -> FetchedPage:
        """GET a page. Raises a JobError subclass, and nothing else but cancellation."""
        started = time.perf_counter()
        hop = _Hop(url)
        deadline = asyncio.timeout(self.limits.total_timeout_s)
        try:
            async with deadline:
                return await self._fetch(hop, headers, started)
        except JobError:
            raise
        except Exception as exc:
            expired = self.limits.total_timeout_s if deadline.expired() else None
            raise translate_error(exc, hop.url, deadline_s=expired) from exc

    async def _fetch(
        self, hop: _Hop, extra_headers: Mapping[str, str] | None, started: float
    ) -> FetchedPage:
        url = hop.url = validate_url(hop.url, self.policy)
        headers = httpx.Headers(self._headers)
        if extra_headers:
            headers.update(extra_headers)  # case-insensitively: the caller's value wins
        redirects: list[str] = []
        seen: set[tuple[str, str | None]] = set()
        cookies: httpx.Cookies | None = None  # only this fetch's, set along its redirects
        while True:
            request = self._client.build_request("GET", url, headers=headers)
            if cookies is not None:
                cookies.set_cookie_header(request)
            # Coming back to a URL is a loop unless a cookie set meanwhile changes the question.
            visit = (url, request.headers.get("cookie"))
            if visit in seen:
                raise FetchError(f"redirect loop: {url} redirects back to itself", transient=False)
            seen.add(visit)

            response = await self._client.send(request, stream=True)
            try:
                locations = response.extensions.get(STASHED_LOCATIONS, [])
                if response.status_code not in REDIRECT_STATUSES or not locations:
                    return await self._page(url, response, redirects, started)
                if len(redirects) >= self.limits.max_redirects:
                    raise FetchError(f"too many redirects (more than {self.limits.max_redirects})", transient=False)
                if "set-cookie" in response.headers:
                    cookies = cookies or httpx.Cookies()
                    cookies.extract_cookies(response)
                target = self._redirect_target(url, locations[0])
                await _drain(response)
            finally:
                await response.aclose()
            redirects.append(url)
            if _origin(target) != _origin(url):
                for name in _CREDENTIAL_HEADERS:
                    headers.pop(name, None)
            url = hop.url = target

    def _redirect_target(self, url: str, location: str) -> str:
        # As browsers do (WHATWG URL): before the query, a backslash is a slash, so
        # `http:\\host\` names another host, not a path on this one.
        head, sep, tail = location.strip().partition("?")
        location = head.replace("\\", "/") + sep + tail
        try:
            return validate_url(urljoin(url, location), self.policy)
        except ValueError as exc:  # urljoin on a garbled Location
            raise InvalidURL(f"{url} redirected to an invalid URL") from exc
        except (InvalidURL, BlockedAddress) as exc:
            raise type(exc)(f"{url} redirected to {location[:200]!r}: {exc.message}") from exc

    async def _page(
        self, url: str, response: httpx.Response, redirects: list[str], started: float
    ) -> FetchedPage:
        status = response.status_code
        if status >= 400:
            await _drain(response)
            raise HTTPStatusError(f"{url} answered {status} {_reason(response)}", status=status)
        declared, charset = parse_content_type(response.headers.get("content-type"))
        if declared is not None:
            check_declared(declared, url)
        media_type = declared or ""

        def inspect(head: bytes) -> None:
            nonlocal media_type
            media_type = sniff(head, declared, url)

        content = await read_body(response, self.limits, inspect=inspect)
        return FetchedPage(
            url=url,
            status=status,
            headers=response.headers.multi_items(),
            content=content,
            media_type=media_type,
            charset=charset,
            redirects=redirects,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> PageFetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _drain(response: httpx.Response) -> None:
    """Read a small body to its end so the connection can be reused; skip big ones."""
    if parse_ascii_decimal(response.headers.get("content-length", ""), maximum=DRAIN_BYTES) is None:
        return
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            async for _ in response.aiter_raw():
                pass
    except READ_ERRORS:
        pass  # only a reuse missed: the connection is dropped, the answer stands


def _reason(response: httpx.Response) -> str:
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return response.reason_phrase[:60]


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc
