"""The dashboard's Schedules view: each schedule's next run, runs and last change, kept current by the activity
stream, and a pause/resume button; in real Chromium against the real app and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import BrowserContext, expect

from service.settings import WebSettings
from tests.support.schedule_runs import RunWatch
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack, running_stack
from tests.support.watched_site import Product, WatchedSite

from .live_page import LivePage


@pytest.fixture
async def ticking(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"schedule_min_every_s": 1})) as stack:
        yield stack


async def test_the_schedules_view_shows_runs_and_the_last_change_live_and_pauses(
        ticking: Stack, browser: BrowserContext) -> None:
    watch = RunWatch(ticking.state.redis, ticking.state.keys)
    shop = WatchedSite(products={"kettle": Product("Steel kettle", 39.9)})
    with serve_in_thread(shop.app()) as base:
        made = (await ticking.client.post("/schedules", json={
            "every_s": 1, "job": {"url": f"{base}/p/kettle", "formats": ["product"]}})).json()
        hourly = (await ticking.client.post("/schedules", json={
            "cron": "0 9 * * MON-FRI", "timezone": "Europe/Paris", "job": {"url": f"{base}/p/kettle"}})).json()
        watched, live = await LivePage.open(browser, ticking.base_url)
        page = watched.page
        await live.first_load_done()
        await page.get_by_role("link", name="Schedules").click()
        await expect(page.get_by_role("heading", name="Schedules")).to_be_visible()
        row = page.locator(f'#schedules-body tr[data-schedule="{made["id"]}"]')
        await expect(row).to_contain_text("every 1 s")
        await expect(row).to_contain_text(f"{base}/p/kettle")
        await expect(page.locator(f'#schedules-body tr[data-schedule="{hourly["id"]}"]')).to_contain_text(
            "cron 0 9 * * MON-FRI (Europe/Paris)")
        await expect(row.locator("td").nth(7)).to_have_text("—")  # no change yet

        # The price moves: the run that saw it becomes the row's last change, from the stream.
        await watch.until(made["id"], 1)
        shop.set("kettle", price=29.9)
        changed_run = await watch.change(made["id"])
        await expect(row.locator("td").nth(7).get_by_role("link", name=f"Job {changed_run}")).to_be_visible()
        # Runs are counted as they are queued, with no reload of the page.
        await expect(row.locator("td").nth(5)).not_to_have_text("0")

        await row.get_by_role("button", name=f"Pause schedule {made['id']}").click()
        await expect(row.locator("td").nth(3)).to_have_text("paused")
        assert (await ticking.client.get(f"/schedules/{made['id']}")).json()["paused"] is True
        await row.get_by_role("button", name=f"Resume schedule {made['id']}").click()
        await expect(row.locator("td").nth(3)).to_have_text("active")
    await watched.assert_clean()
