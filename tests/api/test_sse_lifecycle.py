"""SSE followers over real HTTP: disconnects free everything at once; keep-alives flow."""

from __future__ import annotations

import asyncio

from jobs.settings import Settings
from tests.support.stack import Stack, running_stack


async def test_a_thousand_connects_and_disconnects_leave_nothing_behind(idle_stack: Stack, site: str) -> None:
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})  # stays queued: no worker
    path = f"/jobs/{job['id']}/events"
    hub = idle_stack.state.hub
    await asyncio.sleep(0.1)
    baseline = len(asyncio.all_tasks())
    for _ in range(1_000):
        async with idle_stack.client.stream("GET", path) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: queued"):
                    break  # attached and replayed: now hang up
    for _ in range(100):
        if hub.follower_count == 0 and len(asyncio.all_tasks()) <= baseline:
            break
        await asyncio.sleep(0.05)
    assert hub.follower_count == 0
    assert hub.followers == {} and hub.cursors == {}
    assert hub.pending_tasks == 0
    assert len(asyncio.all_tasks()) <= baseline


async def test_keep_alive_comments_while_nothing_happens(settings: Settings, site: str) -> None:
    async with running_stack(settings.model_copy(update={"sse_keepalive_s": 0.2}), workers=0) as stack:
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        pings = 0
        async with stack.client.stream("GET", f"/jobs/{job['id']}/events") as response:
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    pings += 1
                    if pings == 3:
                        break
        assert pings == 3
