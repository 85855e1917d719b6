"""The connection guard under httpx's own transport (httpcore).

httpcore opens connections through a network backend, calling
`connect_tcp(origin_host, port)` and then, for https, `start_tls` with the
origin host as the server name (httpcore 1.0, `_async/connection.py`). So a
backend that resolves the host once, checks every address and connects to a
checked one (guard.py) keeps the Host header and SNI on the original name,
and leaves DNS rebinding nothing to rebind: there is no second lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpcore
import httpx

from jobs.errors import BlockedAddress, TooLarge
from jobs.fetch.guard import AddressGuard, ResolveFailed
from jobs.fetch.transports.httpcore_pool import LinearConnectionPool
from jobs.fetch.transports.options import TransportOptions

# One fetcher per worker serves a whole crawl: room for many hosts at once.
MAX_CONNECTIONS = 256
MAX_KEEPALIVE_CONNECTIONS = 128
KEEPALIVE_EXPIRY_S = 15.0
# h11 (under httpcore) refuses a response head past this many bytes while reading it.
MAX_HEAD_BYTES = httpcore.AsyncHTTP11Connection.MAX_INCOMPLETE_EVENT_SIZE

SocketOptions = Iterable[httpcore.SOCKET_OPTION] | None


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, checks every address, connects only to a checked one."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
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
        try:
            addresses = await self._guard.addresses(host, port, timeout_s=timeout)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except ResolveFailed as exc:
            raise httpcore.ConnectError(str(exc)) from exc
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

    def __init__(self, options: TransportOptions) -> None:
        context = options.ssl_context()
        limits = httpx.Limits(
            max_connections=MAX_CONNECTIONS,
            max_keepalive_connections=MAX_KEEPALIVE_CONNECTIONS,
            keepalive_expiry=KEEPALIVE_EXPIRY_S,
        )
        super().__init__(verify=context, limits=limits)
        # httpx takes no network backend, so swap in a pool with ours and the
        # same settings. The pool httpx made has opened nothing yet. `_pool` is
        # private: httpx is bounded, and tests/repo/test_library_internals.py guards it.
        self._pool = LinearConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedNetworkBackend(options.address_guard()),
        )
        self._options = options

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        try:
            self._options.check_head_size(request.url, response.headers.raw)
        except TooLarge:
            await response.aclose()
            raise
        return response
