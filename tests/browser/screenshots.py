"""README's dashboard screenshots, taken again with one command.

    .venv/bin/python -m tests.browser.screenshots            # its own stack, with demo jobs
    .venv/bin/python -m tests.browser.screenshots --base-url http://127.0.0.1:8000 [--api-key ss_…]

By default it starts what the tests start (redis-server, the app under uvicorn,
an arq worker, a loopback shop to scrape), submits a few jobs through the API
(a crawl, scrapes, a batch, two that fail, one held mid-fetch so a worker is
busy) and photographs each view of the dashboard in Debian's Chromium into
docs/. With --base-url it photographs a stack that already runs, as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright, expect

from service.settings import WebSettings
from tests.support.crawl_site import crawl_site_app
from tests.support.gated_site import Gate, gated_site
from tests.support.redis_server import RedisServer
from tests.support.servers import serve_in_thread
from tests.support.site import site_app
from tests.support.stack import running_stack

from .conftest import CHROMIUM, CHROMIUM_ARGS

DOCS = Path(__file__).resolve().parent.parent.parent / "docs"
VIEWPORT = {"width": 1360, "height": 860}
MAX_BYTES = 200_000  # README's images stay small


@contextlib.asynccontextmanager
async def demo_stack() -> AsyncIterator[tuple[str, Gate]]:
    """A fresh stack with a few finished, failed and running jobs; its URL and the gate holding one job."""
    redis = RedisServer().start()
    try:
        settings = WebSettings(
            _env_file=None,  # type: ignore[call-arg]
            redis_url=redis.url, allow_private_addresses="true", auth_required=False, submits_per_minute=0,
            allowed_ports="*",
        )
        with (serve_in_thread(crawl_site_app()) as shop, serve_in_thread(site_app()) as files,
              gated_site() as (gated_url, gate)):
            async with running_stack(settings) as stack:
                jobs: list[dict[str, Any]] = [
                    {"type": "crawl", "url": f"{shop}/", "limit": 12},
                    *({"type": "scrape", "url": f"{shop}/products/{n}", "formats": ["markdown", "product"]}
                      for n in (1, 2, 3)),
                    {"type": "batch", "urls": [f"{shop}/blog/post-1", f"{shop}/blog/post-2", f"{shop}/about"]},
                    {"type": "scrape", "url": f"{shop}/products/99"},  # 404: http_status
                    {"type": "scrape", "url": f"{files}/doc.pdf"},  # unsupported_content
                ]
                for body in jobs:
                    job = await stack.submit(body)
                    await stack.wait_terminal(job["id"])
                await stack.submit({"type": "scrape", "url": gated_url, "priority": 9})  # held mid-fetch
                yield stack.base_url, gate
    finally:
        redis.cleanup()


async def shoot(page: Page, base_url: str, view: str, name: str, ready: str) -> None:
    await page.goto(f"{base_url}/#{view}")
    await expect(page.locator("#live")).to_have_text("live", timeout=30_000)
    await expect(page.locator(ready).first).to_be_visible(timeout=30_000)
    await page.wait_for_timeout(300)  # let the last rows of the first load paint
    await page.evaluate("document.activeElement && document.activeElement.blur()")  # no focus ring in the picture
    path = DOCS / f"dashboard-{name}.png"
    await page.screenshot(path=str(path), full_page=False)
    size = path.stat().st_size
    print(f"{path.relative_to(DOCS.parent)}: {size // 1000} KB")
    if size > MAX_BYTES:
        raise SystemExit(f"{path} is over {MAX_BYTES // 1000} KB")


async def take(base_url: str, api_key: str | None) -> None:
    DOCS.mkdir(exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=VIEWPORT, color_scheme="light")  # type: ignore[arg-type]
            if api_key:
                await context.add_init_script(f"sessionStorage.setItem('scrapestream.apiKey', {api_key!r})")
            page = await context.new_page()
            async with httpx.AsyncClient(base_url=base_url) as client:
                headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
                newest = (await client.get("/jobs?limit=20", headers=headers)).json()["jobs"]
            crawl = next((job for job in newest if job["type"] == "crawl" and job["status"] == "completed"), None)
            await shoot(page, base_url, "jobs", "jobs", "#jobs-body tr")
            if crawl:
                await shoot(page, base_url, f"job/{crawl['id']}", "job", "#result tbody tr")
            await shoot(page, base_url, "workers", "workers", "#workers-body tr")
            await shoot(page, base_url, "failures", "failures", "#failure-groups section, #failures-empty")
            await shoot(page, base_url, "history", "history", "#charts figure")
        finally:
            await browser.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running stack to photograph (default: start a demo one)")
    parser.add_argument("--api-key", help="a key, when that stack asks for one")
    args = parser.parse_args()
    if args.base_url:
        await take(args.base_url.rstrip("/"), args.api_key)
        return
    async with demo_stack() as (base_url, gate):
        try:
            await take(base_url, None)
        finally:
            gate.open()


if __name__ == "__main__":
    asyncio.run(main())
