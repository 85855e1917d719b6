"""aiohttp's connector, made to connect only where the AddressGuard says.

Why the guard decides every connection (aiohttp 3.14, `connector.py`):

- `TCPConnector._create_direct_connection` asks `_resolve_host(host, port)`,
  turns each answer's `host` and `port` into a socket address
  (`_convert_hosts_to_addr_infos`) and connects to those
  (`aiohappyeyeballs.start_connection`), while the TLS server name is
  `req.server_hostname or host`, the URL's host. `_resolve_host` asks the
  connector's resolver: GuardedResolver, which answers only addresses the
  guard checked, or raises. So we connect to a checked address, and SNI and
  certificate checks stay on the name (the Host header is httpx's).
- `_resolve_host` returns an IP literal (`helpers.is_ip_address`) without
  asking the resolver: AiohttpTransport checks those itself, before sending.
- `use_dns_cache=False`: the resolver is asked at every new connection, as
  httpcore asks our network backend, so each connection is checked afresh.

CheckedResponseHandler adds what httpx's stack does and aiohttp does not: a
cap on a response head's total size while it arrives (aiohttp bounds each
line and their number, not their sum), and a look at an idle socket before it
is reused. It relies on private aiohttp details, each pinned by a behaviour
test in tests/fetch and guarded by name in tests/repo/test_library_internals.py
(aiohttp is bounded below 3.15): the connector makes every protocol with
`self._factory`, the protocol's `feed_data` receives each parsed head, and the
connector asks `is_connected()` of an idle connection right before reusing it
(`_get`).
"""

from __future__ import annotations

import asyncio
import functools
import select
import socket
import ssl
from contextvars import ContextVar
from typing import cast

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from aiohttp.http import HttpProcessingError, RawResponseMessage
from aiohttp.streams import StreamReader

from jobs.fetch.guard import AddressGuard
from jobs.fetch.transports.httpcore_transport import KEEPALIVE_EXPIRY_S, MAX_CONNECTIONS

# The resolver interface carries no timeout: the request in flight lends it its own.
connect_timeout_s: ContextVar[float | None] = ContextVar("connect_timeout_s", default=None)


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver interface over the AddressGuard: only checked addresses come out.

    A refused address raises BlockedAddress, which aiohttp lets through as it
    is (it wraps only OSError, into ClientConnectorDNSError).
    """

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self._guard.addresses(host, port, connect_timeout_s.get())
        return [
            ResolveResult(
                hostname=host,
                host=str(ip),
                port=port,
                family=socket.AF_INET6 if ip.version == 6 else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for ip in addresses
        ]

    async def close(self) -> None:
        return None


class CheckedResponseHandler(ResponseHandler):
    """aiohttp's connection protocol, with a cap on response heads and a probe before reuse.

    Bytes that arrive while a head is awaited and do not complete one are
    counted; past `max_head_bytes` the connection is closed and the response
    fails with status 431 (translate.py: TooLarge). So at most the cap and
    one read are ever parsed into a head, as with h11.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_head_bytes: int) -> None:
        super().__init__(loop)
        self._max_head_bytes = max_head_bytes
        self._head_bytes = 0
        self._body: StreamReader | None = None  # of the last response that arrived
        self._head_arrived = False

    def _between_responses(self) -> bool:
        return self._body is None or self._body.is_eof()

    def feed_data(self, data: tuple[RawResponseMessage, StreamReader], size: int = 0) -> None:
        self._head_arrived = True
        self._head_bytes = 0
        self._body = data[1]
        super().feed_data(data, size)

    def data_received(self, data: bytes) -> None:
        awaiting_head = self._between_responses()
        self._head_arrived = False
        super().data_received(data)
        if not awaiting_head or self._head_arrived or self.exception() is not None:
            return
        self._head_bytes += len(data)
        if self._head_bytes > self._max_head_bytes:
            if self.transport is not None:
                self.transport.close()
            self.set_exception(
                HttpProcessingError(code=431, message=f"a head over {self._max_head_bytes} bytes")
            )

    def is_connected(self) -> bool:
        # A server that hung up while the connection sat idle may have its FIN
        # still unread, this very loop iteration: look at the socket, as httpx's
        # pool does, rather than send a request into a closed connection.
        if not super().is_connected():
            return False
        if not self._between_responses() or self.transport is None:
            return True
        return not _readable(self.transport.get_extra_info("socket"))


def _readable(sock: socket.socket | None) -> bool:
    """Whether reading `sock` would not block: data or end of stream wait (a gone socket is)."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class GuardedConnector(aiohttp.TCPConnector):
    """aiohttp's TCP connector resolving through the guard, making checked connections."""

    def __init__(self, guard: AddressGuard, *, max_head_bytes: int, ssl_context: ssl.SSLContext) -> None:
        super().__init__(
            resolver=GuardedResolver(guard),
            use_dns_cache=False,
            ssl=ssl_context,
            limit=MAX_CONNECTIONS,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_EXPIRY_S,
        )
        factory = functools.partial(CheckedResponseHandler, loop=self._loop, max_head_bytes=max_head_bytes)
        self._factory = cast("functools.partial[ResponseHandler]", factory)
