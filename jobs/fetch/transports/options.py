"""What a guarded transport is built from, whichever backend carries the bytes."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from jobs.errors import TooLarge
from jobs.fetch.addresses import AddressPolicy
from jobs.fetch.guard import AddressGuard
from jobs.fetch.resolver import Resolver


@dataclass(frozen=True, slots=True)
class TransportOptions:
    """Connect only where `policy` allows (names resolved once, by `resolver`), verify TLS as
    `verify` says, and refuse a response head larger than `max_header_bytes` (TooLarge)."""

    policy: AddressPolicy
    max_header_bytes: int
    resolver: Resolver | None = None
    verify: ssl.SSLContext | bool = True

    def address_guard(self) -> AddressGuard:
        return AddressGuard(self.policy, self.resolver)

    def ssl_context(self) -> ssl.SSLContext:
        """httpx's context (certifi's roots) unless one is given; it loads certificates: build it once."""
        return self.verify if isinstance(self.verify, ssl.SSLContext) else httpx.create_ssl_context(self.verify)

    def check_head_size(self, url: httpx.URL, raw_headers: Sequence[tuple[bytes, bytes]]) -> None:
        """Raise TooLarge when the parsed response headers are larger than `max_header_bytes`."""
        size = sum(len(name) + len(value) + 4 for name, value in raw_headers)
        if size > self.max_header_bytes:
            raise TooLarge(f"the response headers of {url} are larger than {self.max_header_bytes} bytes")
