"""A faster httpcore connection pool for a fetcher shared by a whole worker.

It overrides httpcore 1.0's private `_assign_requests_to_connections` and reads
the pool's private state (`_requests`, `_connections`, limits): httpcore is
bounded below 1.1 in pyproject.toml, tests/repo/test_library_internals.py fails,
naming the internal, when a release changes any of it, and tests/fetch/test_pool.py
and the fetch tests exercise the behaviour.
"""

from __future__ import annotations

import time
from typing import Any

import httpcore
from httpcore import AsyncConnectionInterface


class LinearConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with cheaper bookkeeping; the same decisions otherwise.

    On every request and every response close, httpcore 1.0 counts all
    connections once per idle connection (`len([c.is_idle() ...])` inside its
    loop) and probes every idle socket for a server hang-up; through anyio one
    probe costs tens of microseconds. With 64 connections that was 5-10 ms of
    CPU per request, the whole budget of a crawl (bench/fetch_throughput.py).

    Here the pool is tidied (expired and surplus idle connections closed) at
    most every SWEEP_INTERVAL_S or when a request waits; a connection is
    always probed right before it is reused, so a dead one is never handed
    out; and a connection is never handed to two requests at once (httpcore
    does, and lets the loser retry). The keep-alive cap counts idle
    connections, as httpcore means it to (it counted all of them).
    """

    SWEEP_INTERVAL_S = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        now = time.monotonic()
        sweep = now >= self._next_sweep
        queued = [r for r in self._requests if r.is_queued()]
        if not queued and not sweep:
            return []  # a response closed and nobody waits: the sweep tidies up later
        if sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL_S
        # A connection handed to a request still looks idle until the request
        # starts on it; httpcore would hand it out again and let the loser retry.
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        idle: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle() and id(connection) not in taken:
                if (sweep and connection.has_expired()) or (
                    len(idle) >= self._max_keepalive_connections
                ):
                    closing.append(connection)
                    continue
                idle.append(connection)
            kept.append(connection)
        self._connections = kept

        for pool_request in queued:
            origin = pool_request.request.url.origin
            reused = self._reusable(origin, taken, closing)
            if reused is not None:
                pool_request.assign_to_connection(reused)
                taken.add(id(reused))
                continue
            if len(self._connections) >= self._max_connections:
                victim = next(
                    (c for c in self._connections if c.is_idle() and id(c) not in taken), None
                )
                if victim is None:
                    continue  # stays queued until a connection frees up
                self._connections.remove(victim)
                closing.append(victim)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            pool_request.assign_to_connection(connection)
            taken.add(id(connection))
        return closing

    def _reusable(
        self, origin: httpcore.Origin, taken: set[int], closing: list[AsyncConnectionInterface]
    ) -> AsyncConnectionInterface | None:
        """A free connection to `origin`, probed just now; dead ones go to `closing`."""
        candidates = [
            c
            for c in self._connections
            if id(c) not in taken and c.can_handle_request(origin) and c.is_available()
        ]
        for connection in candidates:
            if not connection.has_expired():
                return connection
            self._connections.remove(connection)
            closing.append(connection)
        return None
