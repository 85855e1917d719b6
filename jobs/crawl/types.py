"""Types shared by the crawl building blocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol


class FetchedBody(Protocol):
    """What robots.txt and sitemap reading need of a fetched page (`FetchedPage` fits)."""

    @property
    def status(self) -> int: ...

    @property
    def content(self) -> bytes: ...


Fetch = Callable[[str], Awaitable[FetchedBody]]
"""GET a URL. May raise a `JobError` (as `PageFetcher.fetch` does for 4xx/5xx) or return any status."""
