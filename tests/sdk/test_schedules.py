"""`client.schedules` against a real uvicorn and worker: make, read, pause, resume, change, list runs, delete."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from service.client import Client, InvalidRequest, NotFound, SyncClient
from service.settings import WebSettings
from tests.support.schedule_runs import RunWatch
from tests.support.stack import Stack, running_stack


@pytest.fixture
async def ticking(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"schedule_min_every_s": 1})) as stack:
        yield stack


async def test_the_async_client_drives_a_schedule_from_start_to_end(ticking: Stack, site: str) -> None:
    watch = RunWatch(ticking.state.redis, ticking.state.keys)
    async with Client(ticking.base_url) as client:
        made = await client.schedules.create({"type": "scrape", "url": f"{site}/plain"}, every_s=1)
        assert made.every_s == 1 and len(made.next_runs) == 5 and made.job["track_changes"] is True
        await watch.until(made.id, 2)
        runs = [run async for run in client.schedules.runs(made.id)]
        assert len(runs) >= 2 and {run.schedule for run in runs} == {made.id}
        assert [run.id async for run in client.jobs(schedule=made.id)] == [run.id for run in runs]

        paused = await client.schedules.pause(made.id)
        assert paused.paused and paused.next_runs == []
        resumed = await client.schedules.resume(made.id)
        assert not resumed.paused
        changed = await client.schedules.update(made.id, cron="0 9 * * MON-FRI", timezone="Europe/Paris")
        assert (changed.cron, changed.timezone, changed.every_s) == ("0 9 * * MON-FRI", "Europe/Paris", None)
        assert [s.id async for s in client.schedules.list()] == [made.id]
        assert (await client.schedules.get(made.id)).runs >= 2

        with pytest.raises(InvalidRequest) as bad:
            await client.schedules.create({"url": f"{site}/plain"}, cron="61 * * * *")
        assert bad.value.field == "cron"
        await client.schedules.delete(made.id)
        with pytest.raises(NotFound):
            await client.schedules.get(made.id)


async def test_the_sync_client_has_the_same_schedules(ticking: Stack, site: str) -> None:
    def script() -> None:
        with SyncClient(ticking.base_url) as client:
            made = client.schedules.create({"url": f"{site}/plain"}, every_s=3600, jitter_s=30)
            assert made.jitter_s == 30
            assert [s.id for s in client.schedules.list()] == [made.id]
            assert client.schedules.pause(made.id).paused
            assert client.schedules.update(made.id, every_s=7200).every_s == 7200
            client.schedules.delete(made.id)
            assert list(client.schedules.list()) == []

    await asyncio.to_thread(script)
