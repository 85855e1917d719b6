"""The web process dies with `kill -9` while the SDK follows a job, and comes back on the same port.

Whatever the SDK yields must be the job's stream exactly as Redis holds it
(XRANGE): every entry once, in order, nothing missing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from jobs.settings import Settings
from jobs.store.records import iso_now
from service.client import Client, JobEvent
from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event
from tests.support.process import WebProcess, web_process
from tests.support.stack import Stack


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def web(settings: Settings) -> AsyncIterator[WebProcess]:
    # A short `retry:` hint: the SDK's waits start from it, so the test does not idle.
    async with web_process(settings, SSE_RETRY_MS="100") as running:
        yield running


class Follower:
    """Follows a job with the SDK in a task; the test can wait until it has seen `n` events."""

    def __init__(self, client: Client, job_id: str) -> None:
        self.events: list[JobEvent] = []
        self.changed = asyncio.Condition()
        self.task = asyncio.create_task(self._follow(client, job_id))

    async def _follow(self, client: Client, job_id: str) -> list[JobEvent]:
        async for event in client.events(job_id):
            async with self.changed:
                self.events.append(event)
                self.changed.notify_all()
        return self.events

    async def seen(self, count: int) -> None:
        async with self.changed:
            await self.changed.wait_for(lambda: len(self.events) >= count or self.task.done())
        if self.task.done():
            self.task.result()  # a failure surfaces here rather than as a hang

    async def finished(self) -> list[JobEvent]:
        return await asyncio.wait_for(self.task, 60)  # a safety net against hanging, not a measure


async def stream_history(redis: Redis, settings: Settings, job_id: str) -> list[tuple[str, str, object]]:
    entries = await redis.xrange(Keyspace(settings.key_prefix).events(job_id), "-", "+")
    return [(i.decode(), f[b"type"].decode(), json.loads(f[b"data"])) for i, f in entries]


def triples(events: list[JobEvent]) -> list[tuple[str | None, str, object]]:
    return [(e.id, e.type, e.data) for e in events]


async def test_events_survive_a_crash_of_the_web_process(
    web: WebProcess, redis: Redis, settings: Settings
) -> None:
    """We publish the events ourselves (no worker runs), to know which ones the crash hides."""
    keys = Keyspace(settings.key_prefix)
    limits = StreamLimits(maxlen=settings.stream_maxlen, ttl_s=settings.retention_s)

    async def publish(phase: str, count: int = 3) -> None:
        for n in range(count):
            await append_event(
                redis, keys.events(job.id), keys.record(job.id), "progress",
                {"phase": phase, "percent": n, "message": f"{phase} {n}"},
                state={"status": "running", "phase": phase}, limits=limits,
            )

    async with Client(web.base_url) as client:
        job = await client.scrape("https://example.com/", wait=False)
        follower = Follower(client, job.id)
        await publish("before")
        await follower.seen(1 + 3)  # queued and the three: it is mid-stream now

        web.kill()
        await publish("while-down")  # only a resume with Last-Event-ID can get these
        await web.start()
        await follower.seen(1 + 6)  # so it reconnected to the new process

        await publish("after")  # live, on the new connection
        await append_event(
            redis, keys.events(job.id), keys.record(job.id), "completed",
            {"summary": {"title": "done"}, "result_url": f"/jobs/{job.id}/result"},
            state={"status": "completed", "percent": 100, "finished_at": iso_now()},
            attach=[(keys.result(job.id), b'{"title": "done"}')], limits=limits,
        )
        events = await follower.finished()
        assert await client.result(job.id) == {"title": "done"}

    history = await stream_history(redis, settings, job.id)
    assert len(history) == 1 + 9 + 1
    assert triples(events) == history


async def test_a_real_job_followed_across_a_crash(
    stack: Stack, web: WebProcess, redis: Redis, settings: Settings, site: str
) -> None:
    """The worker keeps fetching a slow page while the web process is down and restarting."""
    async with Client(web.base_url) as client:
        job = await client.scrape(f"{site}/slow?s=3", wait=False)
        follower = Follower(client, job.id)
        while not any(e.type == "progress" and e.data["phase"] == "fetch" for e in follower.events):
            await follower.seen(len(follower.events) + 1)
        web.kill()
        await web.start()
        events = await follower.finished()
        result = await client.result(job.id)
    assert events[-1].type == "completed" and result["title"] == "Plain page"
    assert triples(events) == await stream_history(redis, settings, job.id)
