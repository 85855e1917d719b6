"""An httpx transport on aiohttp (C HTTP parser), guarded like GuardedTransport.

httpx stays on top (redirect policy, event hooks, cookies, headers); this only
carries bytes. Every connection goes through GuardedConnector, which connects
only to addresses the AddressGuard checked (aiohttp_connector.py says why
that holds), except that aiohttp never asks its resolver about an IP literal:
those are checked here before the request leaves.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

import aiohttp
import httpx
from aiohttp.helpers import is_ip_address
from yarl import URL

from jobs.errors import TooLarge
from jobs.fetch.transports.aiohttp_connector import GuardedConnector, connect_timeout_s
from jobs.fetch.transports.httpcore_transport import MAX_HEAD_BYTES
from jobs.fetch.transports.options import TransportOptions

# aiohttp would add its own Accept, Accept-Encoding, User-Agent and a body's
# Content-Type; the request httpx built already says what it means to send.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class AiohttpResponseStream(httpx.AsyncByteStream):
    """An aiohttp response body as httpx streams one: transfer coding undone, content coding kept."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_any():
            yield chunk

    async def aclose(self) -> None:
        # The connection goes back to the pool only if the body was read to its end.
        self._response.release()


@functools.lru_cache(maxsize=64)
def _timeout(connect_s: float | None, read_s: float | None, pool_s: float | None) -> aiohttp.ClientTimeout:
    # aiohttp's `connect` also covers the wait for a free connection: httpx's pool timeout.
    return aiohttp.ClientTimeout(total=None, connect=pool_s, sock_connect=connect_s, sock_read=read_s)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one long-lived aiohttp session.

    Bodies come raw (read them with `read_body`); redirects are not followed,
    cookies not kept, proxy variables ignored. Errors are aiohttp's own, for
    translate.py.
    """

    def __init__(self, options: TransportOptions) -> None:
        self._options = options
        self._guard = options.address_guard()
        self._ssl_context = options.ssl_context()  # loads certificates: now, not on the loop's time
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = URL(str(request.url), encoded=True)
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol '{url.scheme}://'.")
        timeouts = request.extensions.get("timeout", {})
        connect_s = timeouts.get("connect")
        host, port = url.raw_host or "", url.port or 0
        if is_ip_address(host):  # aiohttp connects to these without asking the resolver
            await self._guard.addresses(host, port, connect_s)
        session = self._open_session()
        token = connect_timeout_s.set(connect_s)
        try:
            response = await session.request(
                request.method,
                url,
                # UTF-8 is how aiohttp writes them back: the bytes httpx prepared, unchanged.
                headers=[(name.decode(), value.decode()) for name, value in request.headers.raw],
                data=await request.aread() or None,
                allow_redirects=False,
                timeout=_timeout(connect_s, timeouts.get("read"), timeouts.get("pool")),
            )
        finally:
            connect_timeout_s.reset(token)
        try:
            self._options.check_head_size(request.url, response.raw_headers)
        except TooLarge:
            response.close()
            raise
        version = response.version or aiohttp.HttpVersion11
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=AiohttpResponseStream(response),
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode(),
                "reason_phrase": (response.reason or "").encode("ascii", "ignore"),
            },
        )

    def _open_session(self) -> aiohttp.ClientSession:
        """The session, made at the first request: aiohttp binds it to the running loop."""
        if self._session is None:
            if self._closed:
                raise RuntimeError("the transport is closed")
            field_bytes = min(self._options.max_header_bytes, MAX_HEAD_BYTES)
            session = aiohttp.ClientSession(
                connector=GuardedConnector(
                    self._guard, max_head_bytes=MAX_HEAD_BYTES, ssl_context=self._ssl_context
                ),
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                auto_decompress=False,
                skip_auto_headers=_NO_AUTO_HEADERS,
                # A longer field or more headers would fail check_head_size anyway
                # (a header counts at least 5 bytes there): refuse them sooner.
                max_line_size=MAX_HEAD_BYTES,
                max_field_size=field_bytes,
                max_headers=max(1, field_bytes // 5),
            )
            # aiohttp sends a GET again when a connection drops before any answer;
            # httpcore does not, and the worker retries failed fetches itself. No
            # public switch: a private attribute, guarded in tests/repo/test_library_internals.py.
            session._retry_connection = False
            self._session = session
        return self._session

    async def aclose(self) -> None:
        self._closed = True
        if self._session is not None:
            await self._session.close()
            self._session = None
