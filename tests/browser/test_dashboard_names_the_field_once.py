"""The dashboard's submit error names the field at fault once: `url: …`, not `url: url: …`."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from tests.support.stack import Stack

from .test_dashboard import open_dashboard


async def test_a_422_shows_its_field_once(stack: Stack, browser: BrowserContext) -> None:
    """The server's message already starts with `url: ` (for curl users); the page put the field in front again."""
    watched = await open_dashboard(browser, stack.base_url)
    page = watched.page
    await page.get_by_label("URL", exact=False).first.fill("ftp://example.com/file")
    await page.get_by_role("button", name="Submit").click()
    error = page.locator("#submit-error")
    await expect(error).to_contain_text("url:")
    text = await error.text_content() or ""
    assert text.startswith("url: ") and text.count("url:") == 1, text
    assert await error.locator("strong").text_content() == "url: "
    await watched.assert_clean(http_errors_expected=True)
