"""The SDK's helpers for crawl, batch and ask, against the real app and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from service.client import Client
from tests.support.crawl_site import crawl_site_app
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with serve_in_thread(crawl_site_app()) as base:
        yield base


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.base_url) as sdk:
        yield sdk


async def test_crawl_batch_and_ask(client: Client, shop: str) -> None:
    crawl = await client.crawl(f"{shop}/blog/", limit=10, max_depth=1, formats=["markdown"])
    await client.result(crawl.id, wait=True, timeout=60)
    urls = {page["url"] async for page in client.pages(crawl.id, limit=2)}
    assert urls == {f"{shop}/blog/", f"{shop}/", f"{shop}/blog/post-1", f"{shop}/blog/post-2"}

    batch = await client.batch([f"{shop}/about", f"{shop}/products/1"], formats=["product"])
    await client.result(batch.id, wait=True, timeout=60)
    entries = [page async for page in client.pages(batch.id)]
    assert [entry["url"] for entry in entries] == [f"{shop}/about", f"{shop}/products/1"]
    assert entries[1]["product"]["name"] == "Trail product 1"

    ask = await client.ask(["What is the return policy?"], url=f"{shop}/", limit=20)
    answers = await client.result(ask.id, wait=True, timeout=60)
    assert "30 days" in answers["answers"][0]["answer"]
