"""Politeness: at most `per_host` requests at once to a host, and a gap between their starts.

The gap is max(`delay_s`, the host's Crawl-delay) between the starts of two
requests to one host, as Scrapy's DOWNLOAD_DELAY: with one request at a time
and slow answers the host sees no more than one request in flight and one
start per gap. Starts are reserved in arrival order without an await in
between, so concurrent callers queue up one gap apart instead of all waking
at once. A host is the URL's host and port.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_IDLE_HOSTS = 1024


@dataclass(slots=True)
class _Host:
    semaphore: asyncio.Semaphore
    next_start: float = 0.0
    users: int = field(default=0)  # holding or waiting for a slot


class HostPoliteness:
    """Per-host concurrency and delay for one crawl. `clock` and `sleep` are injectable for tests."""

    def __init__(
        self,
        *,
        per_host: int = 2,
        delay_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if per_host < 1 or delay_s < 0:
            raise ValueError("per_host must be at least 1 and delay_s at least 0")
        self.per_host = per_host
        self.delay_s = delay_s
        self._clock = clock
        self._sleep = sleep
        self._hosts: dict[str, _Host] = {}

    @contextlib.asynccontextmanager
    async def slot(self, url: str, *, crawl_delay: float | None = None) -> AsyncIterator[None]:
        """Wait for a free slot and the host's gap, then hold the slot for one request."""
        host_key = urlsplit(url).netloc.lower()
        host = self._hosts.get(host_key)
        if host is None:
            self._forget_idle_hosts()
            host = self._hosts[host_key] = _Host(asyncio.Semaphore(self.per_host))
        gap = max(self.delay_s, crawl_delay or 0.0)
        host.users += 1
        try:
            async with host.semaphore:
                now = self._clock()
                start = max(now, host.next_start)
                host.next_start = start + gap
                if start > now:
                    await self._sleep(start - now)
                yield
        finally:
            host.users -= 1

    def _forget_idle_hosts(self) -> None:
        """Drop hosts nobody uses whose gap is over, once there are many: a crawl over many hosts stays small."""
        if len(self._hosts) < MAX_IDLE_HOSTS:
            return
        now = self._clock()
        for key in [key for key, host in self._hosts.items() if host.users == 0 and host.next_start <= now]:
            del self._hosts[key]
