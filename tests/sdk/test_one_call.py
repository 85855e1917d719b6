"""The one-call helpers against a real uvicorn and worker: a scrape returns the page, a crawl
or batch hands out its pages while it runs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from jobs.models import JobStatus, PageResult
from service.client import Client, JobCancelled, JobEvent, JobFailed, WaitTimeout
from tests.support.gated_site import Gate
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.base_url) as sdk:
        yield sdk


@contextlib.contextmanager
def gated_crawl_site() -> Iterator[tuple[str, Gate]]:
    """`/` links to `/open` and `/gated`; `/gated` answers only once the gate is opened."""
    gate = Gate()

    async def home(request: Request) -> Response:
        return HTMLResponse("<html><head><title>Home</title></head><body><main><p>Start here.</p>"
                            "<a href='/open'>open</a> <a href='/gated'>gated</a></main></body></html>")

    async def open_page(request: Request) -> Response:
        return HTMLResponse("<html><head><title>Open</title></head><body><main><p>Always open.</p>"
                            "</main></body></html>")

    app = Starlette(routes=[Route("/", home), Route("/open", open_page), Route("/gated", gate.page)])
    with serve_in_thread(app) as base_url:
        try:
            yield base_url, gate
        finally:
            gate.open()


async def test_scrape_returns_the_typed_page(client: Client, shop: str) -> None:
    seen: list[JobEvent] = []
    page = await client.scrape(f"{shop}/products/2", on_event=seen.append, timeout=60)
    assert isinstance(page, PageResult) and page.url == f"{shop}/products/2" and page.status == 200
    assert page.title == "Trail product 2" and page.product is not None
    assert page.product.name == "Trail product 2" and page.product.price == 20.0
    assert page.product.currency == "EUR" and page.product.sku == "TP-2"
    assert page.markdown is not None and "Product number 2 for the trail." in page.markdown
    assert page.metadata["json-ld"][0]["@type"] == "Product"
    assert f"{shop}/products/3" in page.links and page.error is None
    assert [event.type for event in seen][:2] == ["queued", "started"] and seen[-1].type == "completed"
    assert page.as_json()["product"]["price"] == 20.0 and "error" not in page.as_json()


async def test_scrape_raises_the_failure_with_its_code(client: Client, site: str) -> None:
    with pytest.raises(JobFailed) as caught:
        await client.scrape(f"{site}/status/404", timeout=60)
    assert caught.value.code == "http_status" and "404" in caught.value.message
    assert (await client.get(caught.value.job_id)).status is JobStatus.FAILED


async def test_scrape_without_waiting_returns_the_receipt(client: Client, site: str) -> None:
    job = await client.scrape(f"{site}/plain", wait=False)
    assert job.status is JobStatus.QUEUED and job.type == "scrape"
    assert (await client.result(job.id, wait=True, timeout=60))["title"] == "Plain page"


async def test_waiting_for_a_scrape_is_bounded(idle_stack: Stack, site: str) -> None:
    async with Client(idle_stack.base_url) as client:
        with pytest.raises(WaitTimeout):
            await client.scrape(f"{site}/plain", timeout=0.5)  # no worker: it stays queued


async def test_a_crawl_hands_out_pages_while_it_runs(client: Client) -> None:
    """The first page comes while `/gated` still holds the crawl open, so it is still running."""
    with gated_crawl_site() as (base, gate):
        stream = client.crawl(f"{base}/", limit=3, max_depth=1, formats=["markdown"])
        pages: list[PageResult] = []
        async for page in stream:
            if not pages:
                assert stream.job is not None
                assert (await client.get(stream.job.id)).status is JobStatus.RUNNING
                gate.open()
            pages.append(page)
        assert stream.job is not None
        assert {page.url for page in pages} == {f"{base}/", f"{base}/open", f"{base}/gated"}
        assert pages[0].url == f"{base}/" and pages[0].markdown and "Start here." in pages[0].markdown
        # Each page once, in the order of the job's result.
        assert [page.url async for page in client.pages(stream.job.id)] == [page.url for page in pages]
        assert (await client.get(stream.job.id)).status is JobStatus.COMPLETED


async def test_a_cancelled_crawl_ends_its_pages_with_job_cancelled(client: Client) -> None:
    with gated_crawl_site() as (base, _gate):
        stream = client.crawl(f"{base}/", limit=3, max_depth=1)
        pages: list[str] = []
        with pytest.raises(JobCancelled) as caught:
            async for page in stream:
                pages.append(page.url)
                if len(pages) == 1:
                    assert stream.job is not None
                    await client.cancel(stream.job.id)
        assert caught.value.code == "cancelled" and f"{base}/" in pages and f"{base}/gated" not in pages


async def test_a_batch_hands_out_its_pages_in_the_order_of_its_urls(client: Client, shop: str) -> None:
    """The second URL is done first, yet nothing is handed out before the first one is."""
    with gated_crawl_site() as (base, gate):
        handed_out: list[str] = []
        when_second_was_done: list[list[str]] = []

        def on_event(event: JobEvent) -> None:
            if event.type == "page" and event.data["index"] == 1:
                when_second_was_done.append(list(handed_out))
                gate.open()

        stream = client.batch([f"{base}/gated", f"{shop}/about", f"{shop}/status-is-404"], on_event=on_event)
        async for page in stream:
            handed_out.append(page.url)
        assert when_second_was_done == [[]]
        assert handed_out == [f"{base}/gated", f"{shop}/about", f"{shop}/status-is-404"]


async def test_crawl_and_batch_without_waiting_return_the_receipt(client: Client, shop: str) -> None:
    crawl = await client.crawl(f"{shop}/blog/", limit=2, max_depth=0, wait=False)
    batch = await client.batch([f"{shop}/about"], wait=False)
    assert (crawl.type, batch.type) == ("crawl", "batch")
    assert [page.url async for page in client.follow_pages(batch.id)] == [f"{shop}/about"]
    assert [page.url async for page in client.follow_pages(crawl.id)] == [f"{shop}/blog/"]
