"""The dashboard at `GET /`, in a real Chromium against the real stack (uvicorn, arq worker, Redis)."""

from __future__ import annotations

import re
from urllib.parse import quote

from playwright.async_api import BrowserContext, Locator, Page, expect

from jobs.settings import Settings
from service.apikeys import create_key
from streams.keys import Keyspace
from tests.support.stack import Stack, running_stack

from .conftest import PAYLOAD


class Watched:
    """A page with everything that went wrong in it: console errors, uncaught exceptions, CSP violations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.requested: list[str] = []
        page.on("console", lambda message: self.console_errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on("request", lambda request: self.requested.append(request.url))

    async def csp_violations(self) -> list[str]:
        violations: list[str] = await self.page.evaluate("window.__cspViolations")
        return violations

    async def assert_clean(self, *, http_errors_expected: bool = False) -> None:
        """No script error and no CSP violation; a 4xx the test provoked logs a console line, nothing else may."""
        assert self.page_errors == []
        assert await self.csp_violations() == []
        unexpected = [text for text in self.console_errors
                      if not (http_errors_expected and text.startswith("Failed to load resource"))]
        assert unexpected == []


async def open_dashboard(browser: BrowserContext, base_url: str, page: Page | None = None) -> Watched:
    """Load `/` (in `page`, when the test watches it from before the first request) and check its CSP."""
    watched = Watched(page or await browser.new_page())
    response = await watched.page.goto(base_url + "/")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'sha256-" in csp and "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "require-trusted-types-for 'script'" in csp
    return watched


async def event_types(page: Page) -> list[str]:
    return await page.locator("#log li .badge").all_text_contents()


def logged(page: Page, event_type: str) -> Locator:
    """The event log's lines for events of this type."""
    return page.locator("#log li").filter(has=page.locator(".badge", has_text=re.compile(f"^{event_type}$")))


async def test_the_page_loads_without_console_errors_or_csp_violations(stack: Stack, browser: BrowserContext) -> None:
    watched = await open_dashboard(browser, stack.base_url)
    page = watched.page
    await expect(page.get_by_role("heading", name="Scrapestream")).to_be_visible()
    stats = page.locator("#stats")
    await expect(stats.locator("div", has_text="Redis")).to_contain_text("ok")
    await expect(stats.locator("div", has_text="Workers")).to_contain_text("1")
    await expect(stats.locator("div", has_text="Queued")).to_contain_text("0")  # from GET /queue
    await expect(stats.locator("div", has_text="By kind")).to_contain_text("none waiting")
    await expect(page.locator("#jobs-empty")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    await watched.assert_clean()


async def test_a_scrape_submitted_from_the_form_is_listed_followed_live_and_its_result_shown(
    stack: Stack, site: str, browser: BrowserContext
) -> None:
    watched = await open_dashboard(browser, stack.base_url)
    page = watched.page
    url_input, options = page.get_by_label("URL", exact=False).first, page.locator("#f-options")
    error = page.locator("#submit-error")

    await url_input.fill("ftp://example.com/file")
    await page.get_by_role("button", name="Submit").click()
    await expect(error).to_contain_text("url:")  # the 422's field, next to its message
    await expect(url_input).to_have_attribute("aria-invalid", "true")

    await url_input.fill(f"{site}/plain")
    await options.fill('{"priority": ')
    await page.get_by_role("button", name="Submit").click()
    await expect(error).to_contain_text("options:")
    await options.fill('{"priority": 9}')
    await page.get_by_role("button", name="Submit").click()
    await expect(error).to_be_hidden()
    await expect(url_input).not_to_have_attribute("aria-invalid", "true")

    status = page.locator("#submit-status")
    await expect(status).to_have_text(re.compile(r"Submitted scrape job [0-9a-f]{32}\."))
    job_id = (await status.text_content() or "").split()[-1].rstrip(".")
    await expect(page.get_by_role("button", name=f"Open job {job_id}")).to_be_visible()
    await expect(page.locator("#detail-title")).to_have_text(f"Job {job_id}")

    log = page.locator("#log")
    await expect(logged(page, "completed")).to_have_count(1)
    types = await event_types(page)
    assert types[0] == "queued" and types[-1] == "completed"
    assert "started" in types and "progress" in types
    await expect(log.locator("li").first).to_contain_text("priority 9")
    await expect(page.locator("#record")).to_contain_text("completed")
    await expect(page.locator("#d-progress")).to_have_attribute("value", "100")
    await expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    result = page.locator("#result")
    await expect(result).to_contain_text("Plain page")
    await expect(result).to_contain_text("This is the main text of a plain test page")
    # The list catches up with the job's end.
    row = page.locator(f'#jobs-body tr[data-id="{job_id}"]')
    await expect(row).to_contain_text("completed")
    await watched.assert_clean(http_errors_expected=True)  # the 422 logged its console line


async def test_markup_in_titles_urls_and_events_is_shown_as_text_never_run(
    stack: Stack, hostile_site: str, browser: BrowserContext
) -> None:
    scrape = await stack.submit({"type": "scrape", "url": f"{hostile_site}/p?q={quote(PAYLOAD)}"})
    batch = await stack.submit({"type": "batch", "urls": [f"{hostile_site}/a/{quote(PAYLOAD)}",
                                                          f"{hostile_site}/b?x={quote(PAYLOAD)}"]})
    for job in (scrape, batch):
        assert (await stack.wait_terminal(job["id"]))[-1]["type"] == "completed"

    watched = await open_dashboard(browser, stack.base_url)
    page = watched.page
    result = page.locator("#result")

    await page.get_by_role("button", name=f"Open job {scrape['id']}").click()
    await expect(result).to_contain_text(PAYLOAD)  # the title, as text
    await expect(logged(page, "completed")).to_contain_text(PAYLOAD)

    await page.get_by_role("button", name=f"Open job {batch['id']}").click()
    await expect(result.locator("tbody tr")).to_have_count(2)
    await expect(result.locator("tbody tr").first).to_contain_text(PAYLOAD)
    await expect(logged(page, "page")).to_have_count(2)
    await expect(logged(page, "page").first).to_contain_text(PAYLOAD)
    await page.locator("#result details summary").click()  # the raw JSON too
    await expect(result.locator("pre")).to_contain_text("onerror=window.__pwned=1")

    assert await page.evaluate("typeof window.__pwned") == "undefined"
    assert await page.evaluate("document.images.length") == 0
    await watched.assert_clean()


async def test_cancel_ends_a_running_job_and_retry_runs_it_again(
    stack: Stack, site: str, browser: BrowserContext
) -> None:
    watched = await open_dashboard(browser, stack.base_url)
    page = watched.page
    await page.locator("#f-url").fill(f"{site}/slow?s=30")
    await page.get_by_role("button", name="Submit").click()
    record = page.locator("#record")
    cancel, retry = page.get_by_role("button", name="Cancel"), page.get_by_role("button", name="Retry")

    await expect(record.locator("dd").filter(has_text=re.compile(r"^fetch$"))).to_have_count(1)  # mid-download
    await expect(record).to_contain_text("running")
    await cancel.click()
    await expect(logged(page, "cancelled")).to_have_count(1)
    await expect(record).to_contain_text("cancelled")
    await expect(cancel).to_be_disabled()
    await expect(retry).to_be_enabled()

    # A retry follows the same stream on from the cancel: only the new attempt's events are added.
    await retry.click()
    await expect(logged(page, "started")).to_have_count(2)
    await expect(logged(page, "started").nth(1)).to_contain_text("attempt 2")
    await cancel.click()
    await expect(logged(page, "cancelled")).to_have_count(2)
    assert (await event_types(page)).count("queued") == 2
    await expect(record).to_contain_text("cancelled")
    job_id = (await page.locator("#detail-title").text_content() or "").removeprefix("Job ")
    row = page.locator(f'#jobs-body tr[data-id="{job_id}"]')
    await expect(row).to_contain_text("cancelled")
    await page.get_by_label("Status", exact=True).select_option("completed")
    await expect(row).to_have_count(0)
    await page.get_by_label("Status", exact=True).select_option("cancelled")
    await expect(row).to_contain_text("cancelled")
    record_now = (await stack.client.get(f"/jobs/{job_id}")).json()
    assert record_now["status"] == "cancelled" and record_now["attempt"] == 2
    await watched.assert_clean()


async def test_with_auth_required_the_page_asks_for_a_key_and_then_lists_that_keys_jobs(
    settings: Settings, site: str, browser: BrowserContext
) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True})) as stack:
        keys = Keyspace(stack.settings.key_prefix)
        _mine, secret = await create_key(stack.state.redis, keys, "dashboard")
        _theirs, other = await create_key(stack.state.redis, keys, "someone-else")
        mine = await stack.submit({"type": "scrape", "url": f"{site}/plain"},
                                  headers={"Authorization": f"Bearer {secret}"})
        theirs = await stack.submit({"type": "scrape", "url": f"{site}/plain"},
                                    headers={"Authorization": f"Bearer {other}"})

        watched = await open_dashboard(browser, stack.base_url)
        page = watched.page
        key_input = page.get_by_label("API key")
        await expect(key_input).to_be_visible()
        await expect(page.locator("#jobs-error")).to_contain_text("API key")
        await key_input.fill(secret)
        await page.get_by_role("button", name="Use key").click()

        await expect(page.locator("#key-form")).to_be_hidden()
        await expect(page.get_by_role("button", name=f"Open job {mine['id']}")).to_be_visible()
        await expect(page.locator(f'#jobs-body tr[data-id="{theirs["id"]}"]')).to_have_count(0)
        await expect(page.locator("#stats div", has_text="Queued")).to_be_visible()  # /queue wants a key too

        # The job's events follow through its link token: EventSource sends no key.
        await page.get_by_role("button", name=f"Open job {mine['id']}").click()
        await expect(logged(page, "completed")).to_have_count(1)
        await expect(page.locator("#result")).to_contain_text("Plain page")

        assert await page.evaluate("sessionStorage.getItem('scrapestream.apiKey')") == secret
        assert await page.evaluate("localStorage.length") == 0
        assert not [url for url in watched.requested if secret in url or quote(secret) in url]
        await watched.assert_clean(http_errors_expected=True)  # the 401s before the key
