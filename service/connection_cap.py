"""The connection cap of one web process, and which connection gives way when it is reached.

Every open connection counts. Those that wait for a request head (new, idle
keep-alive, or trickling a slowloris head) are kept oldest first: at the cap,
a new connection closes the oldest of them rather than being refused, so
sockets that never finish a head cannot lock real clients out. Only when every
connection is busy with a request is the newcomer shed (503). The cap is kept
below the file-descriptor limit, which it raises toward the hard limit if it can.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass, field
from typing import Protocol
from weakref import WeakKeyDictionary

logger = logging.getLogger("scrapestream.service")

# Descriptors left for everything but client sockets: the listening socket, Redis
# pools, log files, the event loop's own, and sockets accepted only to be shed.
RESERVED_FDS = 256


class Evictable(Protocol):
    def evict(self) -> None: ...


@dataclass(frozen=True)
class HeadLimits:
    """What one request head and one process may hold (WebSettings, read once per process)."""

    max_header_bytes: int
    max_headers: int
    header_timeout_s: float
    max_connections: int


@dataclass
class ConnectionBook:
    """The open connections of one server, and those waiting for a head, oldest first."""

    limits: HeadLimits
    cap: int
    open: int = 0
    waiting: dict[Evictable, None] = field(default_factory=dict)  # insertion order: oldest first

    def admit(self) -> bool:
        """Count a new connection; at the cap, evict the longest-waiting one. False: shed it."""
        if self.open >= self.cap:
            if not self.waiting:
                return False
            oldest = next(iter(self.waiting))
            oldest.evict()  # releases it from this book before it returns
        self.open += 1
        return True

    def release(self) -> None:
        self.open -= 1

    def wait(self, connection: Evictable) -> None:
        self.waiting.pop(connection, None)
        self.waiting[connection] = None

    def stop_waiting(self, connection: Evictable) -> None:
        self.waiting.pop(connection, None)


def fd_bounded_cap(wanted: int) -> int:
    """`wanted`, or fewer so that the connections and RESERVED_FDS fit in RLIMIT_NOFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    cap = max(1, soft - RESERVED_FDS)
    logger.warning("MAX_CONNECTIONS=%d does not fit the file-descriptor limit (%d): capped at %d",
                   wanted, soft, cap)
    return cap


_books: WeakKeyDictionary[object, ConnectionBook] = WeakKeyDictionary()


def book_for(server_state: object, limits: HeadLimits) -> ConnectionBook:
    """The one book of a uvicorn server (its ServerState), made at its first connection."""
    book = _books.get(server_state)
    if book is None:
        book = _books[server_state] = ConnectionBook(limits, fd_bounded_cap(limits.max_connections))
    return book
