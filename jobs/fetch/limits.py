"""How much a single fetch may cost."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Limits on one fetch; every one of them fails with a typed error.

    `max_header_bytes` is enforced on the parsed response head (TooLarge); the
    HTTP parser also refuses any head over 100 KiB while reading it, so values
    above that act as 100 KiB. `total_timeout_s` is a real deadline over the
    whole fetch, redirects included (httpx's timeouts are per read).
    """

    max_bytes: int = 10 * 1024 * 1024  # body bytes after decompression
    max_decompression_ratio: int = 200  # decompressed / compressed
    max_redirects: int = 10
    max_header_bytes: int = 64 * 1024
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 15.0
    total_timeout_s: float = 30.0
