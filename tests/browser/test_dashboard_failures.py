"""The Failures view: failed jobs grouped by code; retry one, retry selected, retry all, delete."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.async_api import BrowserContext, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread
from tests.support.site import PLAIN_PAGE
from tests.support.stack import Stack

from .live_page import LivePage


class Mendable:
    """Pages that answer 404 until the test mends the site: a failure that a retry then gets past."""

    def __init__(self) -> None:
        self.mended = threading.Event()

    async def page(self, request: Request) -> Response:
        if self.mended.is_set():
            return HTMLResponse(PLAIN_PAGE)
        return PlainTextResponse("gone for now", status_code=404)


@pytest.fixture
def mendable() -> Iterator[tuple[str, Mendable]]:
    site = Mendable()
    with serve_in_thread(Starlette(routes=[Route("/{path:path}", site.page)])) as base_url:
        yield base_url, site


async def failed_job(stack: Stack, url: str) -> str:
    job = await stack.submit({"type": "scrape", "url": url})
    assert (await stack.wait_terminal(job["id"]))[-1]["type"] == "failed"
    return str(job["id"])


async def test_a_failed_job_retried_from_the_failures_view_completes(
    stack: Stack, mendable: tuple[str, Mendable], browser: BrowserContext
) -> None:
    base_url, site = mendable
    first = await failed_job(stack, f"{base_url}/first")
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    await page.get_by_role("link", name="Failures").click()
    group = page.locator('#failure-groups section[data-code="http_status"]')
    await expect(group.locator("h3")).to_have_text("http_status — 1 job")
    second = await failed_job(stack, f"{base_url}/second")  # live: the `failed` event adds it
    await expect(group.locator("h3")).to_have_text("http_status — 2 jobs")
    row = group.locator(f'tr[data-id="{first}"]')
    await expect(row).to_contain_text(f"{base_url}/first")
    await expect(row).to_contain_text("404")  # the message
    await expect(row.locator("td").nth(4)).to_have_text("1")  # attempts
    await expect(page.locator("#failures-count")).to_have_text("2")

    site.mended.set()
    await page.get_by_role("button", name=f"Retry job {first}").click()
    await expect(page.locator("#failures-status")).to_have_text("Retried 1 job.")
    await expect(row).to_have_count(0)
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.locator(f'#jobs-body tr[data-id="{first}"]')).to_contain_text("completed")
    record = (await stack.client.get(f"/jobs/{first}")).json()
    assert record["status"] == "completed" and record["attempt"] == 2

    await page.get_by_role("link", name="Failures").click()
    await page.get_by_role("checkbox", name=f"Select job {second}").check()
    await page.get_by_role("button", name="Delete selected").click()
    await expect(page.locator("#failures-status")).to_have_text("Deleted 1 job.")
    await expect(page.locator("#failures-empty")).to_be_visible()
    assert (await stack.client.get(f"/jobs/{second}")).status_code == 404
    await expect(page.locator("#failures-count")).to_have_text("")
    await watched.assert_clean()


async def test_retry_all_and_retry_selected_rerun_every_failed_job_they_name(
    stack: Stack, mendable: tuple[str, Mendable], browser: BrowserContext
) -> None:
    base_url, site = mendable
    ids = [await failed_job(stack, f"{base_url}/{n}") for n in range(3)]
    watched, live = await LivePage.open(browser, stack.base_url)
    page = watched.page
    await live.first_load_done()
    await page.get_by_role("link", name="Failures").click()
    await expect(page.locator("#failure-groups tbody tr")).to_have_count(3)

    await page.get_by_role("checkbox", name=f"Select job {ids[0]}").check()
    await page.get_by_role("checkbox", name=f"Select job {ids[1]}").check()
    await page.get_by_role("button", name="Retry selected").click()  # still 404: they fail again
    await expect(page.locator("#failures-status")).to_have_text("Retried 2 jobs.")
    for job_id in ids[:2]:  # back, from the stream's `failed`, after their second attempt
        await expect(page.locator(f'#failure-groups tr[data-id="{job_id}"] td').nth(4)).to_have_text("2")
    await expect(page.locator("#failure-groups tbody tr")).to_have_count(3)

    site.mended.set()
    await page.get_by_role("button", name="Retry all failed").click()
    await expect(page.locator("#failures-status")).to_have_text("Retried 3 jobs.")
    await expect(page.locator("#failures-empty")).to_be_visible()
    await page.get_by_role("link", name="Jobs").click()
    await expect(page.locator("#jobs-body tr", has_text="completed")).to_have_count(3)
    for job_id in ids:
        assert (await stack.client.get(f"/jobs/{job_id}")).json()["status"] == "completed"
    await watched.assert_clean()
