"""A real browser for the dashboard: Debian's Chromium, driven by Playwright.

`make test` installs /usr/bin/chromium when it is missing (the `browser` target),
so these tests never skip: a dashboard nobody has loaded in a browser is untested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, async_playwright, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.support.servers import serve_in_thread

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
# Generous: a loaded CI machine is slow, and every wait ends as soon as the page is ready.
TIMEOUT_MS = 30_000

# Markup that runs script wherever it is parsed as HTML rather than shown as text.
PAYLOAD = "<img src=x onerror=window.__pwned=1>"

# Runs before the page's own script. CDP-injected, so the page's CSP does not apply to it.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`));
"""

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """A fresh Chromium profile per test, closed after it (filterwarnings=error)."""
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        )
        try:
            context.set_default_timeout(TIMEOUT_MS)
            await context.add_init_script(WATCH_CSP)
            yield context
        finally:
            await context.close()


async def hostile_page(request: Request) -> Response:
    # RCDATA in <title>: the title *text* is the payload, as a scraper reads it.
    return HTMLResponse(
        f"<!doctype html><html lang='en'><head><title>{PAYLOAD}</title>"
        f"<meta name='description' content='{PAYLOAD.replace('<', '&lt;')}'></head>"
        f"<body><main><h1>{PAYLOAD.replace('<', '&lt;')}</h1>"
        f"<p>Text that says {PAYLOAD.replace('<', '&lt;')} to whoever renders it as HTML.</p>"
        "<a href='javascript:window.__pwned=2'>a link</a></main></body></html>"
    )


@pytest.fixture(scope="session")
def hostile_site() -> Iterator[str]:
    """Pages whose titles, headings and URLs are markup."""
    with serve_in_thread(Starlette(routes=[Route("/{path:path}", hostile_page)])) as base_url:
        yield base_url
