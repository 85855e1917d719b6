"""`SyncClient` against a real uvicorn and worker; each test drives it from a thread of its own,
as a script would, while the test's loop serves the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from jobs.models import JobStatus
from service.apikeys import create_key
from service.client import Client, JobEvent, JobFailed, SyncClient, Unauthorized
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.sdk.test_one_call import gated_crawl_site
from tests.support.stack import Stack, running_stack


async def test_scrape_crawl_and_a_failure(stack: Stack, shop: str, site: str) -> None:
    def script() -> None:
        with SyncClient(stack.base_url) as client:
            seen: list[JobEvent] = []
            page = client.scrape(f"{shop}/products/3", on_event=seen.append, timeout=60)
            assert page.product is not None and page.product.price == 30.0 and page.title == "Trail product 3"
            assert seen[-1].type == "completed"

            pages = client.crawl(f"{shop}/blog/", limit=10, max_depth=1, formats=["markdown"])
            urls = [page.url for page in pages]
            assert sorted(urls) == sorted([f"{shop}/blog/", f"{shop}/", f"{shop}/blog/post-1", f"{shop}/blog/post-2"])
            assert pages.job is not None and [p.url for p in client.pages(pages.job.id)] == urls
            assert [p.url for p in client.batch([f"{shop}/about", f"{shop}/"])] == [f"{shop}/about", f"{shop}/"]

            with pytest.raises(JobFailed) as caught:
                client.scrape(f"{site}/status/404", timeout=60)
            assert caught.value.code == "http_status"
            failed = client.get(caught.value.job_id)
            assert failed.status is JobStatus.FAILED
            assert [event.type for event in client.events(failed.id)][-1] == "failed"
            assert [job.id for job in client.jobs(status="failed", limit=1)] == [failed.id]

            receipt = client.scrape(f"{site}/plain", wait=False)
            assert client.result(receipt.id, wait=True, timeout=60)["title"] == "Plain page"
            assert client.health().ok and client.queue().completed >= 4

    await asyncio.to_thread(script)


async def test_a_live_crawl_page_by_page(stack: Stack) -> None:
    def script(base: str, open_gate: Callable[[], None]) -> None:
        with SyncClient(stack.base_url) as client:
            stream = client.crawl(f"{base}/", limit=3, max_depth=1)
            first = next(stream)
            assert first.url == f"{base}/" and stream.job is not None
            assert client.get(stream.job.id).status is JobStatus.RUNNING
            open_gate()
            rest = [page.url for page in stream]
            assert sorted(rest) == [f"{base}/gated", f"{base}/open"]
            assert client.get(stream.job.id).status is JobStatus.COMPLETED

    with gated_crawl_site() as (base, gate):
        await asyncio.to_thread(script, base, gate.open)


async def test_leaving_an_iterator_early_then_closing(stack: Stack, site: str) -> None:
    """Breaking out of a live event stream leaves it open; closing the client ends it and returns."""
    def script() -> None:
        client = SyncClient(stack.base_url)
        job = client.scrape(f"{site}/slow?s=1", wait=False)
        for event in client.events(job.id):
            assert event.type == "queued"
            break
        client.close()
        client.close()  # twice is harmless
        with pytest.raises(RuntimeError):
            client.get(job.id)

    await asyncio.to_thread(script)


async def test_the_environment_configures_both_clients(
    settings: WebSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SCRAPESTREAM_URL", raising=False)
    monkeypatch.delenv("SCRAPESTREAM_API_KEY", raising=False)
    async with Client() as client:
        assert client.base_url == "http://127.0.0.1:8000"

    async with running_stack(settings.model_copy(update={"auth_required": True}), workers=0) as secure:
        _key, secret = await create_key(secure.state.redis, Keyspace(secure.settings.key_prefix), "alice")
        monkeypatch.setenv("SCRAPESTREAM_URL", secure.base_url)
        async with Client() as anonymous:
            with pytest.raises(Unauthorized):
                await anonymous.scrape("https://example.com/", wait=False)
        monkeypatch.setenv("SCRAPESTREAM_API_KEY", secret)

        async with Client() as client:
            job = await client.scrape("https://example.com/", wait=False)
            assert [record.id async for record in client.jobs()] == [job.id]

        def script() -> None:
            with SyncClient() as sync:
                assert sync.base_url == secure.base_url
                assert [record.id for record in sync.jobs()] == [job.id]
                with SyncClient(api_key="ss_0123456789abcdef_wrong") as wrong, pytest.raises(Unauthorized):
                    wrong.get(job.id)

        await asyncio.to_thread(script)
