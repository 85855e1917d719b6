"""Cancel: a queued job never starts; a running one stops; `cancelled` is the last event."""

from __future__ import annotations

import asyncio

from tests.support.sse import read_sse
from tests.support.stack import Stack, running_worker


async def test_cancel_a_queued_job_it_never_starts(idle_stack: Stack, site: str) -> None:
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
    response = await idle_stack.client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 202
    assert response.json()["status"] == "cancelled"
    async with running_worker(idle_stack.settings):
        # Give the worker every chance to (wrongly) run it, then look.
        later = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
        await idle_stack.wait_terminal(later["id"])
    events = await idle_stack.wait_terminal(job["id"])
    assert [e["type"] for e in events] == ["queued", "cancelled"]
    assert events[-1]["data"]["by"] == "client"
    record = (await idle_stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == "cancelled" and record["started_at"] is None
    assert record["error"]["code"] == "cancelled"


async def test_cancel_a_running_job_it_stops(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=60"})
    path = f"/jobs/{job['id']}/events"
    seen = []
    async for event in read_sse(stack.client, path):
        seen.append(event)
        if event["type"] == "progress" and event["data"]["phase"] == "fetch":
            break
    response = await stack.client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 202
    events = await asyncio.wait_for(stack.wait_terminal(job["id"]), 10)
    assert events[-1]["type"] == "cancelled"
    assert [e["type"] for e in events].count("cancelled") == 1
    # The worker let go of it: its task is gone and the slot is free for the next job.
    for _ in range(100):
        if not stack.workers[0].job_tasks:
            break
        await asyncio.sleep(0.05)
    assert not stack.workers[0].job_tasks
    nxt = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    assert (await stack.wait_terminal(nxt["id"]))[-1]["type"] == "completed"


async def test_cancel_a_finished_job_is_409(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(job["id"])
    response = await stack.client.delete(f"/jobs/{job['id']}")
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "already_finished"
    assert body["job"]["status"] == "completed"
