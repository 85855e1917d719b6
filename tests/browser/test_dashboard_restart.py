"""The dashboard rides a web restart: EventSource resumes the activity stream with Last-Event-ID.

The web app runs as a uvicorn child process that the test kills and starts again
on the same port; a job ends while it is down. The page shows that ending, and
every job event after the restart, without reloading anything.
"""

from __future__ import annotations

import asyncio

import httpx
from playwright.async_api import BrowserContext, expect
from redis.asyncio import Redis

from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.gated_site import gated_site
from tests.support.process import web_process
from tests.support.stack import running_worker

from .live_page import LivePage

TERMINAL = {b"completed", b"failed", b"cancelled"}


async def wait_ended(redis: Redis, events_key: str) -> bytes:
    """Read the job's stream in Redis (XREAD BLOCK) until its terminal event; its type."""
    last = "0"
    async with asyncio.timeout(60):  # a safety net: the wait ends at the event
        while True:
            for _, entries in await redis.xread({events_key: last}, block=5_000) or []:
                for entry_id, fields in entries:
                    last = entry_id
                    if fields[b"type"] in TERMINAL:
                        return bytes(fields[b"type"])


async def test_the_page_survives_a_web_restart_without_a_gap(
    settings: WebSettings, site: str, browser: BrowserContext
) -> None:
    configured = settings.model_copy(update={"sse_retry_ms": 200})  # the page comes back soon after the web does
    keys = Keyspace(configured.key_prefix)
    async with (web_process(configured) as web, running_worker(configured),
                httpx.AsyncClient(base_url=web.base_url, timeout=30) as client,
                Redis.from_url(configured.redis_url) as redis):
        watched, live = await LivePage.open(browser, web.base_url)
        page = watched.page
        mark = await live.first_load_done()

        with gated_site() as (gated_url, gate):
            held = (await client.post("/jobs", json={"type": "scrape", "url": gated_url})).json()
            row = page.locator(f'#jobs-body tr[data-id="{held["id"]}"]')
            await expect(row).to_contain_text("running")

            web.kill()
            await expect(page.locator("#live")).to_have_text("reconnecting…")
            gate.open()
            assert await wait_ended(redis, keys.events(held["id"])) == b"completed"  # while nobody serves the page
            await web.start()

        await expect(page.locator("#live")).to_have_text("live")
        await expect(row).to_contain_text("completed")  # the event published while the web was down
        after = (await client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"})).json()
        later = page.locator(f'#jobs-body tr[data-id="{after["id"]}"]')
        await expect(later).to_contain_text(f"{site}/plain")
        await expect(later).to_contain_text("completed")
        await expect(page.locator("#jobs-body tr")).to_have_count(2)

        # Nothing was read again: the gap was filled by the stream resuming after the last id it saw.
        assert [made for made in live.made_since(mark) if made[0] != "eventsource"] == []
        await watched.assert_clean(http_errors_expected=True)  # the refused reconnects log a console line
