"""The SDK's helpers for crawl, batch and ask, against the real app and worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.client import Client
from tests.support.stack import Stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.base_url) as sdk:
        yield sdk


async def test_crawl_batch_and_ask(client: Client, shop: str) -> None:
    crawl = await client.crawl(f"{shop}/blog/", limit=10, max_depth=1, formats=["markdown"], wait=False)
    await client.result(crawl.id, wait=True, timeout=60)
    urls = {page.url async for page in client.pages(crawl.id, limit=2)}
    assert urls == {f"{shop}/blog/", f"{shop}/", f"{shop}/blog/post-1", f"{shop}/blog/post-2"}

    batch = client.batch([f"{shop}/about", f"{shop}/products/1", f"{shop}/products/99"], formats=["product"])
    entries = [page async for page in batch]
    assert [entry.url for entry in entries] == [f"{shop}/about", f"{shop}/products/1", f"{shop}/products/99"]
    assert entries[1].product is not None and entries[1].product.name == "Trail product 1"
    assert entries[1].product.price == 10.0 and entries[1].error is None
    assert entries[2].error is not None and entries[2].error.code == "http_status"
    assert batch.job is not None and (await client.get(batch.job.id)).status == "completed"
    assert [page.url async for page in client.pages(batch.job.id)] == [entry.url for entry in entries]

    answers = await client.ask(["What is the return policy?"], url=f"{shop}/", limit=20, timeout=60)
    assert "30 days" in (answers.answers[0].answer or "")
    assert answers.answers[0].question == "What is the return policy?" and answers.pages > 0
