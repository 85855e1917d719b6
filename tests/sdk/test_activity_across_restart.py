"""The SDK follows `GET /events` from now; the web process restarts before any job event came.

A job submitted and finished while it was down must still reach the iterator:
the stream's id-only first frame is the SDK's resume point.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from jobs.settings import Settings
from service.client import Client, JobEvent, RetryPolicy
from tests.support.process import WebProcess, web_process
from tests.support.stack import Stack

# A safety net only: every wait below ends on an event.
SAFETY_S = 60


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[WebProcess]:
    # A short `retry:` hint (the SDK's waits start from it) and frequent `queue` events:
    # the first one tells the test that the iterator is connected.
    async with web_process(settings, SSE_RETRY_MS="100", ACTIVITY_QUEUE_EVERY_S="0.1") as running:
        yield running


async def test_activity_resumes_from_where_it_started_across_a_web_restart(
    stack: Stack, web: WebProcess, site: str
) -> None:
    queue_seen = asyncio.Event()
    seen: list[JobEvent] = []
    # Retries enough to outlast the restart, without long waits.
    retry = RetryPolicy(attempts=100, budget_s=SAFETY_S, base_s=0.05, cap_s=0.2)
    async with Client(web.base_url, retry=retry) as client:

        async def follow(job_id: asyncio.Future[str]) -> None:
            async with contextlib.aclosing(client.activity()) as events:
                async for event in events:
                    if event.type == "queue":
                        queue_seen.set()
                        continue
                    seen.append(event)
                    if event.type == "completed" and event.data["id"] == await job_id:
                        return

        job_id: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        follower = asyncio.create_task(follow(job_id))
        await asyncio.wait_for(queue_seen.wait(), SAFETY_S)  # connected; no job event yet
        web.kill()
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain?while-down"})
        job_id.set_result(job["id"])
        await stack.wait_terminal(job["id"])
        await web.start()
        await asyncio.wait_for(follower, SAFETY_S)
    assert [(e.type, e.data["id"], e.data["url"]) for e in seen] == [
        (kind, job["id"], f"{site}/plain?while-down") for kind in ("queued", "started", "completed")]
