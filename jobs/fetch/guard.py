"""The address guard both HTTP backends connect through: resolve once, check every address.

A backend asks `AddressGuard.addresses(host, port)` when it opens a connection
and connects only to what it answers, by address: there is no second lookup
for DNS rebinding to change, and the Host header and TLS server name stay the
host's name because the backend still believes it connects to `host`.
"""

from __future__ import annotations

import asyncio
from ipaddress import ip_address

from jobs.errors import BlockedAddress
from jobs.fetch.addresses import AddressPolicy, IPAddress
from jobs.fetch.resolver import Resolver, SystemResolver


class ResolveFailed(OSError):
    """The resolver gave no usable address (an OSError, as resolvers' errors are)."""


class AddressGuard:
    """Turns a host into addresses that may all be contacted, or refuses it."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or SystemResolver()

    async def addresses(self, host: str, port: int, timeout_s: float | None) -> list[IPAddress]:
        """The addresses of `host` (an IP literal is its own), every one of them checked.

        Raises BlockedAddress, ResolveFailed, or TimeoutError after `timeout_s`.
        """
        addresses = await self._lookup(host, port, timeout_s)
        # All of them first: one refused address refuses the host, so a
        # resolver cannot mix a bait address in with a good one.
        for ip in addresses:
            reason = self._policy.refusal(ip, port)
            if reason is not None:
                shown = reason if str(ip) == host else f"{host}: {reason}"
                raise BlockedAddress(f"refused to contact {shown}")
        return addresses

    async def _lookup(self, host: str, port: int, timeout_s: float | None) -> list[IPAddress]:
        try:
            return [ip_address(host)]
        except ValueError:
            pass
        try:
            async with asyncio.timeout(timeout_s):
                answers = await self._resolver.resolve(host, port)
        except TimeoutError as exc:  # before OSError, of which it is a subclass
            raise TimeoutError(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise ResolveFailed(f"cannot resolve {host}: {exc}") from exc
        try:
            addresses = [ip_address(answer) for answer in answers]
        except ValueError as exc:
            raise ResolveFailed(f"the resolver gave a non-address for {host}") from exc
        if not addresses:
            raise ResolveFailed(f"{host} has no addresses")
        return addresses
