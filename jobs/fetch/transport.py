"""The connection guard: every TCP connection goes to an address we checked.

httpcore opens connections through a network backend, calling
`connect_tcp(origin_host, port)` and then, for https, `start_tls` with the
origin host as the server name (httpcore 1.0, `_async/connection.py`). So a
backend that resolves the host once, checks every address and connects to a
checked one keeps the Host header and SNI on the original name, and leaves
DNS rebinding nothing to rebind: there is no second lookup.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterable
from http.client import HTTPResponse
from http.cookiejar import Cookie, CookieJar
from ipaddress import ip_address
from urllib.request import Request as UrllibRequest

import httpcore
import httpx

from ..errors import BlockedAddress, TooLarge
from .addresses import AddressPolicy, IPAddress
from .limits import FetchLimits
from .pool import LinearConnectionPool
from .resolver import Resolver, SystemResolver

DEFAULT_USER_AGENT = "Scrapestream/0.1 (+https://github.com/scrapestream)"

# One fetcher per worker serves a whole crawl: room for many hosts at once.
MAX_CONNECTIONS = 256
MAX_KEEPALIVE_CONNECTIONS = 128
KEEPALIVE_EXPIRY_S = 15.0

SocketOptions = Iterable[httpcore.SOCKET_OPTION] | None


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects only to a checked one."""

    def __init__(
        self,
        policy: AddressPolicy,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._resolver = resolver or SystemResolver()
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self._addresses(host, port, timeout_s=timeout)
        # All of them first: one refused address refuses the host, so a
        # resolver cannot mix a bait address in with a good one.
        for ip in addresses:
            reason = self._policy.refusal(ip, port)
            if reason is not None:
                shown = reason if str(ip) == host else f"{host}: {reason}"
                raise BlockedAddress(f"refused to contact {shown}")
        error: httpcore.ConnectError | None = None
        for ip in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                # An IP literal: the inner backend connects without resolving.
                return await self._inner.connect_tcp(
                    str(ip),
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def _addresses(self, host: str, port: int, timeout_s: float | None) -> list[IPAddress]:
        try:
            return [ip_address(host)]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(timeout_s):
                answers = await self._resolver.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        try:
            addresses = [ip_address(answer) for answer in answers]
        except ValueError as exc:
            raise httpcore.ConnectError(f"the resolver gave a non-address for {host}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no addresses")
        return addresses

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: SocketOptions = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("refused to contact a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's HTTP transport on a GuardedNetworkBackend, refusing oversized heads."""

    def __init__(
        self,
        policy: AddressPolicy,
        limits: FetchLimits,
        resolver: Resolver | None = None,
        *,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        ssl_context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        pool_limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        super().__init__(verify=ssl_context, limits=pool_limits)
        # httpx takes no network backend, so swap in a pool with ours and the
        # same settings. The pool httpx made has opened nothing yet.
        self._pool = LinearConnectionPool(
            ssl_context=ssl_context,
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(policy, resolver),
        )
        self._max_header_bytes = limits.max_header_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        size = sum(len(name) + len(value) + 4 for name, value in response.headers.raw)
        if size > self._max_header_bytes:
            await response.aclose()
            raise TooLarge(
                f"the response headers of {request.url} are larger than "
                f"{self._max_header_bytes} bytes"
            )
        return response


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


def guarded_client(
    policy: AddressPolicy,
    limits: FetchLimits,
    resolver: Resolver | None = None,
    *,
    user_agent: str = DEFAULT_USER_AGENT,
    verify: ssl.SSLContext | bool = True,
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
        transport=GuardedTransport(policy, limits, resolver, verify=verify),
        follow_redirects=False,
        trust_env=False,  # proxy variables would route around the guard
        timeout=client_timeout(limits),
        headers=headers,
        cookies=_DiscardingCookieJar(),
    )
