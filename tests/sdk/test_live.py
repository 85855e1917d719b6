"""The SDK against a real uvicorn serving the app, with a real worker: live event streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from jobs.models import JobStatus
from service.client import Client, JobCancelled, JobEvent, JobFailed, WaitTimeout
from streams.keys import Keyspace
from tests.support.stack import Stack


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[Client]:
    async with Client(stack.base_url) as sdk:
        yield sdk


async def stream_history(stack: Stack, job_id: str) -> list[tuple[str, str, object]]:
    """The job's stream as Redis holds it (XRANGE), as (id, type, data)."""
    redis = Redis.from_url(stack.settings.redis_url)
    try:
        entries = await redis.xrange(Keyspace(stack.settings.key_prefix).events(job_id), "-", "+")
    finally:
        await redis.aclose()
    return [(i.decode(), f[b"type"].decode(), json.loads(f[b"data"])) for i, f in entries]


def triples(events: list[JobEvent]) -> list[tuple[str | None, str, object]]:
    return [(e.id, e.type, e.data) for e in events]


async def test_submit_follow_live_then_result(client: Client, stack: Stack, site: str) -> None:
    job = await client.scrape(f"{site}/slow?s=0.5", wait=False)
    events = [event async for event in client.events(job.id)]  # attached while it runs
    assert triples(events) == await stream_history(stack, job.id)
    assert [e.type for e in events][:2] == ["queued", "started"] and events[-1].type == "completed"
    assert [e.data["phase"] for e in events if e.type == "progress"][:2] == ["validate", "fetch"]
    result = await client.result(job.id)
    assert result["url"] == f"{site}/slow?s=0.5" and result["title"] == "Plain page"


async def test_result_with_wait_follows_the_job_to_its_end(client: Client, site: str) -> None:
    job = await client.scrape(f"{site}/slow?s=0.5", wait=False)
    result = await client.result(job.id, wait=True, timeout=60)
    assert result["title"] == "Plain page"
    assert (await client.get(job.id)).status is JobStatus.COMPLETED


async def test_a_failing_job_raises_its_code_and_message(client: Client, site: str) -> None:
    job = await client.scrape(f"{site}/status/404", wait=False)
    with pytest.raises(JobFailed) as caught:
        await client.result(job.id, wait=True, timeout=60)
    assert caught.value.code == "http_status"
    assert caught.value.message and caught.value.job_id == job.id
    assert caught.value.job.status is JobStatus.FAILED


async def test_waiting_too_long_raises_wait_timeout(idle_stack: Stack, site: str) -> None:
    async with Client(idle_stack.base_url) as client:
        job = await client.scrape(f"{site}/plain", wait=False)  # no worker: it stays queued
        with pytest.raises(WaitTimeout) as caught:
            await client.result(job.id, wait=True, timeout=0.5)
        assert caught.value.job_id == job.id and caught.value.timeout == 0.5
        assert (await client.get(job.id)).status is JobStatus.QUEUED


async def test_cancel_a_running_job(client: Client, stack: Stack, site: str) -> None:
    job = await client.scrape(f"{site}/slow?s=30", wait=False)
    async with contextlib.aclosing(client.events(job.id)) as events:
        async for event in events:
            if event.type == "started":
                break
    record = await client.cancel(job.id)
    assert record.status is JobStatus.CANCELLED
    followed = [event async for event in client.events(job.id)]
    assert followed[-1].type == "cancelled" and followed[-1].data["by"] == "client"
    assert triples(followed) == await stream_history(stack, job.id)
    with pytest.raises(JobCancelled) as caught:
        await client.result(job.id, wait=True)
    assert caught.value.code == "cancelled"
    # The worker lets go of it (arq's close would otherwise meet the aborted task).
    for _ in range(200):
        if not stack.workers[0].job_tasks:
            break
        await asyncio.sleep(0.05)
    assert not stack.workers[0].job_tasks


async def test_jobs_walks_every_page_with_a_status_filter(client: Client, site: str) -> None:
    good = [(await client.scrape(f"{site}/plain", wait=False)).id for _ in range(3)]
    bad = [(await client.scrape(f"{site}/status/500", wait=False)).id for _ in range(3)]
    for job_id in good:
        await client.result(job_id, wait=True, timeout=60)
    for job_id in bad:
        with pytest.raises(JobFailed):
            await client.result(job_id, wait=True, timeout=60)
    everything = [job async for job in client.jobs(limit=2)]  # three full pages
    assert sorted(job.id for job in everything) == sorted(good + bad)
    failed = [job.id async for job in client.jobs(status="failed", limit=1)]
    assert sorted(failed) == sorted(bad)
