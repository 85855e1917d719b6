"""Concurrent identical reads share one Redis round trip.

When a thousand followers attach to the same job at once, they all want the
same record and the same history; one read serves them all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Coalescer(Generic[T]):
    """`await coalescer.get(key, fetch)`: callers asking for `key` while a fetch runs share it."""

    def __init__(self) -> None:
        self._flights: dict[Hashable, asyncio.Future[T]] = {}

    async def get(self, key: Hashable, fetch: Callable[[], Awaitable[T]]) -> T:
        flight = self._flights.get(key)
        if flight is None:
            flight = asyncio.ensure_future(fetch())
            self._flights[key] = flight
            flight.add_done_callback(lambda _: self._flights.pop(key, None))
        # One caller giving up must not cancel the read the others wait for.
        return await asyncio.shield(flight)

    def __len__(self) -> int:
        return len(self._flights)
