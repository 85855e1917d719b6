"""The operator's calls of the SDK: queue, workers, health, retry, and the job list's filters."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator

import httpx
import pytest

from jobs.models import JobStatus
from service.client import Client, Conflict, JobFailed
from tests.support.gated_site import gated_site
from tests.support.stack import Stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.base_url) as sdk:
        yield sdk


async def test_queue_workers_and_health_while_a_job_runs(client: Client) -> None:
    with gated_site() as (url, gate):
        job = await client.scrape(url, wait=False)
        async for event in client.events(job.id):
            if event.type == "started":
                break
        queue = await client.queue()
        workers = await client.workers()
        assert queue.running == 1 and queue.workers == 1 and queue.queued.total == 0
        assert queue.invalid_payloads == 0 and queue.failed == 0
        assert len(workers) == 1 and workers[0].running == [job.id]
        assert workers[0].jobs[0].url == url and workers[0].pid == os.getpid()
        assert workers[0].last_heartbeat is not None and workers[0].name
        health = await client.health()
        assert health.ok and health.redis == "ok" and health.workers == 1
        gate.open()
        await client.result(job.id, wait=True, timeout=60)
    assert (await client.queue()).completed == 1
    assert (await client.workers())[0].running == []


async def test_retry_runs_a_failed_job_again(client: Client, site: str) -> None:
    with pytest.raises(JobFailed) as caught:
        await client.scrape(f"{site}/status/404", timeout=60)
    record = await client.retry(caught.value.job_id)
    assert record.id == caught.value.job_id and record.status is JobStatus.QUEUED
    with pytest.raises(JobFailed):
        await client.result(record.id, wait=True, timeout=60)
    assert (await client.get(record.id)).attempt == 2
    done = await client.scrape(f"{site}/plain", wait=False)
    await client.result(done.id, wait=True, timeout=60)
    with pytest.raises(Conflict) as refused:
        await client.retry(done.id)
    assert refused.value.code == "not_retryable"


async def test_jobs_filtered_by_type_and_url(client: Client, site: str) -> None:
    plain = await client.scrape(f"{site}/plain", wait=False)
    slow = await client.scrape(f"{site}/slow?s=0", wait=False)
    batch = await client.batch([f"{site}/plain"], wait=False)
    assert [job.id async for job in client.jobs(url="/SLOW")] == [slow.id]
    assert [job.id async for job in client.jobs(type="batch")] == [batch.id]
    assert {job.id async for job in client.jobs(type="scrape", url="/plain")} == {plain.id}


async def test_retry_failed_asks_for_every_failed_job_in_one_call() -> None:
    """Written against the contract of `POST /jobs/retry`: a status filter and an optional type."""
    sent: list[tuple[str, str, object]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, json.loads(request.content)))
        return httpx.Response(202, json={"retried": ["a" * 32, "b" * 32]})

    async with Client("http://scripted.test", transport=httpx.MockTransport(answer)) as client:
        assert await client.retry_failed() == ["a" * 32, "b" * 32]
        await client.retry_failed(type="crawl")
    assert sent == [("POST", "/jobs/retry", {"status": "failed"}),
                    ("POST", "/jobs/retry", {"status": "failed", "type": "crawl"})]
