"""`track_changes` on a crawl: each page gets its `change`, and the summary counts new, changed, same and gone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from service.settings import WebSettings
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack
from tests.support.watched_site import Product, WatchedSite
from tests.support.worker_process import worker_process

SAFETY_S = 60


@pytest.fixture
def shop() -> Iterator[tuple[WatchedSite, str]]:
    site = WatchedSite({"kettle": Product("Steel kettle", 39.90), "teapot": Product("Teapot", 19.00),
                        "mug": Product("Mug", 6.50)})
    with serve_in_thread(site.app()) as base_url:
        yield site, base_url


async def crawl(stack: Stack, url: str, **options: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]],
                                                               list[dict[str, Any]]]:
    """Run a tracked crawl to its end: (its summary, its pages by URL, its events)."""
    job = await stack.submit({"type": "crawl", "url": url, "track_changes": True, **{"limit": 20, **options}})
    events = await asyncio.wait_for(stack.wait_terminal(job["id"]), SAFETY_S)
    assert events[-1]["type"] == "completed", events
    result = (await stack.client.get(f"/jobs/{job['id']}/result?limit=100")).json()
    return events[-1]["data"]["summary"], {page["url"]: page for page in result["pages"]}, events


async def test_a_recrawl_reports_each_page_and_the_pages_gone(stack: Stack, shop: tuple[WatchedSite, str]) -> None:
    site, base = shop
    start = f"{base}/"
    summary, pages, _ = await crawl(stack, start, formats=["metadata"])
    assert sorted(pages) == sorted([start, f"{base}/p/kettle", f"{base}/p/teapot", f"{base}/p/mug"])
    assert {url: page["change"]["status"] for url, page in pages.items()} == dict.fromkeys(pages, "new")
    assert summary["changes"] == {"new": 4, "changed": 0, "same": 0, "gone": 0, "gone_urls": []}
    # Tracking read the product and the text; the pages show only the formats asked for.
    assert all(page["product"] is None and page["markdown"] is None for page in pages.values())

    site.set("kettle", price=29.00)
    site.remove("teapot")
    summary, pages, events = await crawl(stack, start, formats=["metadata"])
    assert summary["changes"] == {"new": 0, "changed": 2, "same": 1, "gone": 1, "gone_urls": [f"{base}/p/teapot"]}
    kettle = pages[f"{base}/p/kettle"]["change"]
    assert kettle["status"] == "changed"
    assert kettle["fields"] == {"product.price": {"before": 39.9, "after": 29.0}}
    assert pages[f"{base}/p/mug"]["change"]["status"] == "same"
    index = pages[start]["change"]
    assert index["status"] == "changed" and f"-- [Teapot]({base}/p/teapot)" in index["diff"].splitlines()
    changed = [e["data"] for e in events if e["type"] == "changed"]
    assert sorted(data["url"] for data in changed) == sorted([start, f"{base}/p/kettle"])
    assert {data["url"]: data["change"] for data in changed}[f"{base}/p/kettle"] == kettle


async def test_an_untracked_crawl_has_no_change_anywhere(stack: Stack, shop: tuple[WatchedSite, str]) -> None:
    _site, base = shop
    job = await stack.submit({"type": "crawl", "url": f"{base}/", "limit": 5})
    events = await asyncio.wait_for(stack.wait_terminal(job["id"]), SAFETY_S)
    result = (await stack.client.get(f"/jobs/{job['id']}/result?limit=100")).json()
    assert "changes" not in events[-1]["data"]["summary"]
    assert all("change" not in page for page in result["pages"])
    assert "changed" not in [e["type"] for e in events]


async def test_pages_done_by_other_workers_are_tracked_too(idle_stack: Stack, settings: WebSettings) -> None:
    site = WatchedSite({f"item{n}": Product(f"Item {n}", 10.0 + n) for n in range(30)}, delay_s=0.05)
    with serve_in_thread(site.app()) as base:
        async with worker_process(settings) as first, worker_process(settings) as second:
            await crawl(idle_stack, f"{base}/", limit=40)
            site.set("item3", price=1.0)
            summary, pages, events = await crawl(idle_stack, f"{base}/", limit=40)
    done_by = {e["data"]["worker"] for e in events if e["type"] == "page"}
    assert done_by == {first.name, second.name}  # the crawl spread over both
    assert summary["changes"] == {"new": 0, "changed": 1, "same": 30, "gone": 0, "gone_urls": []}
    assert all(page["change"]["status"] in ("same", "changed") for page in pages.values())
    assert pages[f"{base}/p/item3"]["change"]["fields"] == {"product.price": {"before": 13.0, "after": 1.0}}
    page_events = {e["data"]["url"]: e["data"] for e in events if e["type"] == "page"}
    assert page_events[f"{base}/p/item3"]["change"] == "changed"
