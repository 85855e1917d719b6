"""Name resolution for the fetcher, pluggable so tests can play DNS."""

from __future__ import annotations

import asyncio
import socket
from typing import Protocol


class Resolver(Protocol):
    """Turns a host name into the IP addresses (as text) to connect to."""

    async def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    """The operating system's resolver (`getaddrinfo`, in the loop's thread pool)."""

    async def resolve(self, host: str, port: int) -> list[str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
        # dict keeps the resolver's order (it encodes address preference).
        return list(dict.fromkeys(str(info[4][0]) for info in infos))
