"""The dashboard follows the activity stream: jobs from anywhere appear and change live, and nothing polls.

Real Chromium against the real app and worker; each job is held mid-fetch by a
gated loopback page for exactly as long as the test needs it running.
"""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page, expect

from tests.support.gated_site import gated_site
from tests.support.stack import Stack

from .live_page import LivePage


def job_row(page: Page, job_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#jobs-body tr[data-id="{job_id}"]')


async def test_a_job_submitted_through_the_api_appears_live_with_its_url_and_nothing_polls(
    stack: Stack, site: str, browser: BrowserContext
) -> None:
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    mark = await live.first_load_done()

    with gated_site() as (gated_url, gate):
        job = await stack.submit({"type": "scrape", "url": gated_url})  # as curl, the SDK or the CLI would
        row = job_row(page, job["id"])
        await expect(row).to_contain_text(gated_url)
        await expect(row).to_contain_text("running")
        await expect(row.locator("td").nth(5)).to_have_text("1")  # the attempt
        gate.open()
        await expect(row).to_contain_text("completed")
    batch = await stack.submit({"type": "batch", "urls": [f"{site}/plain", f"{site}/pages/article.html"]})
    await expect(job_row(page, batch["id"])).to_contain_text(f"2 URLs: {site}/plain")
    await expect(job_row(page, batch["id"])).to_contain_text("completed")
    # Only a `queue` event of the stream can move this tile: the page read /queue once, before any job ended.
    await expect(page.locator("#stats div", has_text="Completed")).to_contain_text("2")

    assert [made for made in live.made_since(mark) if made[0] != "eventsource"] == []
    await watched.assert_clean()


async def test_the_search_box_and_the_filters_ask_the_server_and_keep_following(
    stack: Stack, site: str, browser: BrowserContext
) -> None:
    plain = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(plain["id"])
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    await expect(job_row(page, plain["id"])).to_be_visible()

    await page.get_by_label("Search by URL").fill("ARTICLE")  # any case, as the server matches
    await expect(job_row(page, plain["id"])).to_have_count(0)
    await expect(page.locator("#jobs-empty")).to_have_text("No job matches.")
    article = await stack.submit({"type": "scrape", "url": f"{site}/pages/article.html"})
    other = await stack.submit({"type": "scrape", "url": f"{site}/plain?again"})
    await expect(job_row(page, article["id"])).to_contain_text("completed")
    await stack.wait_terminal(other["id"])
    await expect(job_row(page, other["id"])).to_have_count(0)  # live, but not what was searched

    await page.get_by_label("Search by URL").fill("")
    await page.locator("#type-filter").select_option("batch")
    await expect(page.locator("#jobs-body tr")).to_have_count(0)
    await page.locator("#type-filter").select_option("scrape")
    await expect(page.locator("#jobs-body tr")).to_have_count(3)
    await watched.assert_clean()


async def test_the_workers_view_shows_the_worker_running_a_job(stack: Stack, browser: BrowserContext) -> None:
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    await page.get_by_role("link", name="Workers").click()
    rows = page.locator("#workers-body tr")
    await expect(rows).to_have_count(1)
    worker = rows.first
    await expect(worker).to_contain_text("idle")
    name = await worker.locator("td").first.text_content() or ""
    host, pid = name.rsplit(":", 1)
    await expect(worker.locator("td").nth(1)).to_have_text(f"{host} · pid {pid}")
    await expect(worker.locator("td").nth(5)).to_have_text("0")
    await expect(worker.locator("td").nth(6)).to_have_text("every kind")  # the kinds it takes

    with gated_site() as (gated_url, gate):
        job = await stack.submit({"type": "scrape", "url": gated_url})
        running = worker.get_by_role("link", name=f"Job {job['id']}")
        await expect(running).to_be_visible()  # the stream's `started` made the view read /workers again
        await expect(worker).to_contain_text(gated_url)
        await running.click()  # linked to its detail
        await expect(page.locator("#detail-title")).to_have_text(f"Job {job['id']}")
        await expect(page.locator("#record")).to_contain_text("running")
        await page.get_by_role("link", name="Workers").click()
        gate.open()
        await expect(worker).to_contain_text("idle")
        await expect(worker.locator("td").nth(5)).to_have_text("1")  # finished
    await watched.assert_clean()


async def test_keyboard_users_reach_every_view_and_land_on_its_heading(stack: Stack, browser: BrowserContext) -> None:
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    for name, heading in [("Workers", "Workers"), ("Failures", "Failures"), ("History", "The last hour, per minute"),
                          ("Jobs", "New job")]:
        await page.get_by_role("link", name=re.compile(f"^{name}")).focus()
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name=heading)).to_be_visible()
        await expect(page.get_by_role("link", name=re.compile(f"^{name}"))).to_have_attribute("aria-current", "page")
    await watched.assert_clean()


async def test_the_history_charts_count_this_minute_and_move_with_the_stream(
    stack: Stack, site: str, browser: BrowserContext
) -> None:
    done = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(done["id"])
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    await page.get_by_role("link", name="History").click()
    completed = page.locator('figure[data-chart="completed"] svg')
    # Totals, not peaks: a minute may turn between the two jobs.
    await expect(completed).to_have_attribute("aria-label", re.compile(r"^Completed: 1 in the last hour,"))
    await expect(completed.locator("rect")).to_have_count(60)  # a bar a minute, drawn by the page
    mark = len(live.requests)

    again = await stack.submit({"type": "scrape", "url": f"{site}/plain?again"})
    await expect(completed).to_have_attribute("aria-label", re.compile(r"^Completed: 2 in the last hour,"))
    submitted = page.locator('figure[data-chart="submitted"] svg')
    await expect(submitted).to_have_attribute("aria-label", re.compile(r"^Submitted: 2 in the last hour,"))
    assert (await stack.client.get(f"/jobs/{again['id']}")).json()["status"] == "completed"
    assert [made for made in live.made_since(mark) if made[0] != "eventsource"] == []
    await watched.assert_clean()
