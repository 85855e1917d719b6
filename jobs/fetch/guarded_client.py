"""The guarded httpx client, on either backend: httpx's own transport or aiohttp's.

Both backends open every connection through the same AddressGuard (guard.py);
everything above the transport (redirect handling, event hooks, cookies,
headers) is httpx's, whichever one carries the bytes.
"""

from __future__ import annotations

import ssl
from http.client import HTTPResponse
from http.cookiejar import Cookie, CookieJar
from typing import Literal
from urllib.request import Request as UrllibRequest

import httpx

from jobs.fetch.addresses import AddressPolicy
from jobs.fetch.limits import FetchLimits
from jobs.fetch.resolver import Resolver
from jobs.fetch.transports.aiohttp_transport import AiohttpTransport
from jobs.fetch.transports.httpcore_transport import GuardedTransport
from jobs.fetch.transports.options import TransportOptions

DEFAULT_USER_AGENT = "Scrapestream/0.1 (+https://github.com/scrapestream)"

# "httpx": httpcore + h11 (pure Python). "aiohttp": aiohttp with its C parser,
# about 40% less CPU per page (bench/fetch_throughput.py --backend).
Backend = Literal["httpx", "aiohttp"]
BACKENDS: tuple[Backend, ...] = ("httpx", "aiohttp")
DEFAULT_BACKEND: Backend = "aiohttp"
"""The backend when none is chosen: FETCH_BACKEND's default, PageFetcher's, and this module's."""


class _DiscardingCookieJar(CookieJar):
    """The client is shared by every job of a worker: one job's cookies must not reach another."""

    def extract_cookies(self, response: HTTPResponse, request: UrllibRequest) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def client_timeout(limits: FetchLimits) -> httpx.Timeout:
    return httpx.Timeout(
        connect=limits.connect_timeout_s,
        read=limits.read_timeout_s,
        write=limits.read_timeout_s,
        pool=limits.total_timeout_s,
    )


def guarded_transport(options: TransportOptions, backend: Backend = DEFAULT_BACKEND) -> httpx.AsyncBaseTransport:
    """The transport of `backend`, every connection of which passes the address guard."""
    if backend == "httpx":
        return GuardedTransport(options)
    if backend == "aiohttp":
        return AiohttpTransport(options)
    raise ValueError(f"unknown fetch backend {backend!r}: choose one of {', '.join(BACKENDS)}")


def guarded_client(
    policy: AddressPolicy,
    limits: FetchLimits,
    resolver: Resolver | None = None,
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    verify: ssl.SSLContext | bool = True,
    backend: Backend = DEFAULT_BACKEND,
) -> httpx.AsyncClient:
    """An httpx client whose every connection passes the address guard.

    For requests other than page fetches (webhooks ...). It never follows
    redirects, ignores proxy variables and keeps no cookies. It asks for
    uncompressed bodies because httpx's own decoding (`.read()`, `.text`) is
    unbounded: read untrusted bodies with `read_body`. There is no total
    deadline: wrap calls in `asyncio.timeout`.
    """
    headers = {"User-Agent": user_agent, "Accept-Encoding": "identity"}
    return httpx.AsyncClient(
        transport=guarded_transport(TransportOptions(policy, limits.max_header_bytes, resolver, verify), backend),
        follow_redirects=False,
        trust_env=False,  # proxy variables would route around the guard
        timeout=client_timeout(limits),
        headers=headers,
        cookies=_DiscardingCookieJar(),
    )
