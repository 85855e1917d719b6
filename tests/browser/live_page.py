"""A dashboard page with its network watched: which requests it made, and whether the first load is done."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from playwright.async_api import BrowserContext, Page, Request, expect

from .test_dashboard import Watched, open_dashboard

# What the page reads once when it opens (`GET /jobs` twice: the list, and the failed ones for the Failures view).
FIRST_LOAD = {"/events/link", "/events", "/health", "/queue", "/jobs"}


class LivePage:
    """Every request of the page, by resource type and path, and whether it has answered."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.requests: list[tuple[str, str]] = []
        self._open: set[Request] = set()
        self._settled = asyncio.Event()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request: Request) -> None:
        self.requests.append((request.resource_type, urlsplit(request.url).path))
        if request.resource_type != "eventsource":  # the stream stays open: it never finishes
            self._open.add(request)
            self._settled.clear()

    def _ended(self, request: Request) -> None:
        self._open.discard(request)
        if not self._open:
            self._settled.set()

    async def first_load_done(self) -> int:
        """Wait until the stream is live and every request of the first load has answered; their count."""
        await expect(self.page.locator("#live")).to_have_text("live")
        await expect(self.page.locator("#stats div", has_text="Queued")).to_be_visible()
        async with asyncio.timeout(30):  # a safety net: the wait ends when the last answer is in
            while not ({path for _, path in self.requests} >= FIRST_LOAD and not self._open):
                self._settled.clear()
                if not self._open:
                    await asyncio.sleep(0.05)  # a request the page is about to make; no answer to wait for yet
                    continue
                await self._settled.wait()
        return len(self.requests)

    @classmethod
    async def open(cls, browser: BrowserContext, base_url: str) -> tuple[Watched, LivePage]:
        """The dashboard, watched from before its first request."""
        live = cls(await browser.new_page())
        return await open_dashboard(browser, base_url, live.page), live

    def made_since(self, mark: int) -> list[tuple[str, str]]:
        return self.requests[mark:]
