"""Loopback listeners that prove whether anything connected: a canary, a black hole, a closed port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

from .raw_http import HTTPServer


class Canary:
    """Listening sockets nobody accepts on: any connection attempt shows in their queue.

    The kernel completes the handshake whether or not we accept, so counting
    what is queued proves, without any waiting, whether anything connected.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.bind((host, port))
        except OSError:
            self._sock.close()  # the port is taken: callers try another, and leave no socket behind
            raise
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.hits = 0

    def contacted(self) -> int:
        """How many connections arrived so far."""
        while True:
            try:
                conn, _ = self._sock.accept()
            except BlockingIOError:
                return self.hits
            conn.close()
            self.hits += 1

    def close(self) -> None:
        self.contacted()
        self._sock.close()


class BlackHole:
    """A listener whose accept queue is full, so new connections hang (connect timeout)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port: int = self._sock.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def server_beside_canary(host: str = "127.0.0.2") -> AsyncIterator[tuple[HTTPServer, Canary]]:
    """A raw server on `host` and a canary on 127.0.0.1 with the same port.

    A host name rebound from one to the other keeps its URL, port included, so a
    connection that slipped through to any loopback spelling knocks on the canary.
    """
    for _ in range(20):
        server = await HTTPServer(host=host).start()
        try:
            bait = Canary("127.0.0.1", server.port)
        except OSError:
            await server.close()
            continue
        try:
            yield server, bait
        finally:
            bait.close()
            await server.close()
        return
    raise RuntimeError(f"no port free on both 127.0.0.1 and {host}")
