"""EXTRACT_PROCESSES: every job kind, scrape included, extracts in the worker's process pool when it has one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from jobs.extract import DEFAULT_FORMATS, extract_page
from service.settings import WebSettings
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def pooled_stack(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"extract_processes": 1})) as running:
        yield running


async def test_a_scrape_in_the_pool_gives_the_same_document_as_inline(pooled_stack: Stack, site: str) -> None:
    url = f"{site}/pages/product_jsonld.html"
    job = await pooled_stack.submit({"type": "scrape", "url": url})
    events = await pooled_stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed", events[-1]
    result = (await pooled_stack.client.get(f"/jobs/{job['id']}/result")).json()

    async with httpx.AsyncClient() as client:
        page = await client.get(url)
    expected = extract_page(page.content, url=url, status=200, media_type="text/html", charset="utf-8",
                            formats=DEFAULT_FORMATS)
    assert result == expected.model_dump(mode="json")
    summary = events[-1]["data"]["summary"]
    assert expected.product is not None and summary["product"] == expected.product.name
    assert summary["title"] == expected.title and summary["links"] == len(expected.links)


async def test_a_batch_and_a_scrape_in_the_pool_agree(pooled_stack: Stack, site: str) -> None:
    url = f"{site}/plain"
    scrape = await pooled_stack.submit({"type": "scrape", "url": url})
    batch = await pooled_stack.submit({"type": "batch", "urls": [url]})
    for job in (scrape, batch):
        assert (await pooled_stack.wait_terminal(job["id"]))[-1]["type"] == "completed"
    scraped = (await pooled_stack.client.get(f"/jobs/{scrape['id']}/result")).json()
    (batched,) = (await pooled_stack.client.get(f"/jobs/{batch['id']}/result")).json()["pages"]
    assert scraped == batched
