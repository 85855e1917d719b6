"""A stalled attempt resumed after its lease lapsed writes nothing: every write is fenced by its claim.

What broke: a worker paused longer than WORKER_LEASE_S (a VM pause, a
partition, a blocked loop) resumed its old attempt alongside the new one. A
crawl with `limit` 60 ended with 109 page entries (49 duplicates) and 107
`page` events while its summary said 60: only the terminal event was fenced.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from jobs.errors import JobCancelled
from jobs.lifecycle.attempt import AttemptLimits, JobEnv, JobRun
from jobs.lifecycle.submit import QueueConfig
from jobs.queue.claim import FENCE_FIELD, RunningCap, lease_value
from jobs.settings import Settings
from jobs.store.pages import push_commands
from jobs.worker.leases import finish_held_job, renew_leases
from streams.keys import Keyspace
from streams.publish import Fence, PendingEvent, StreamLimits, Superseded, ThenCommand, append_events, create_stream
from tests.reliability.helpers import events_until, started, terminal_events
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack
from tests.support.worker_process import worker_process

PAGES = 150  # more than the crawl's limit: the limit ends it, not the site
LIMIT = 60


async def many_pages(request: Request) -> Response:
    """`/` links to every page; each page links back: every page is one hop away."""
    path = request.url.path
    if path == "/":
        links = "".join(f'<a href="/p/{n}">page {n}</a> ' for n in range(PAGES))
        return HTMLResponse(f"<!doctype html><title>Index</title><body>{links}</body>")
    if path.startswith("/p/"):
        return HTMLResponse(f"<!doctype html><title>Page {path[3:]}</title><body><a href='/'>home</a></body>")
    return PlainTextResponse("not found", status_code=404)


@pytest.fixture(scope="module")
def many_page_site() -> Iterator[str]:
    with serve_in_thread(Starlette(routes=[Route("/{path:path}", many_pages)])) as base_url:
        yield base_url


# One page at a time, 50 ms apart: the crawl takes a few seconds, time enough to stall it half-way.
# A 2 s lease, renewed every 0.5 s; the other worker looks at the queue every 0.1 s.
WORKER_ENV = {"WORKER_LEASE_S": "2", "WORKER_POLL_S": "0.1", "HOST_CONCURRENCY": "1", "CRAWL_CONCURRENCY": "2",
              "POLITENESS_DELAY_S": "0.05"}


def pages_done(count: int) -> Any:
    return lambda events: sum(event["type"] == "page" for event in events) >= count


async def test_a_worker_stalled_past_its_lease_writes_nothing_once_another_attempt_took_the_job_over(
    idle_stack: Stack, settings: Settings, many_page_site: str, redis: Redis
) -> None:
    keys = Keyspace(settings.key_prefix)
    job_id = (await idle_stack.submit({"type": "crawl", "url": f"{many_page_site}/", "limit": LIMIT,
                                       "max_depth": 1}))["id"]
    async with asyncio.timeout(120), worker_process(settings, **WORKER_ENV) as stalled:
        await events_until(idle_stack, job_id, pages_done(5))
        stalled.send_signal(signal.SIGSTOP)
        try:
            async with worker_process(settings, **WORKER_ENV) as taking_over:
                again = await events_until(idle_stack, job_id, started(2))
                assert again[-1]["data"]["worker"] == taking_over.name
                # Resumed while the new attempt runs: its crawl goes on where it stalled.
                stalled.send_signal(signal.SIGCONT)
                events = await idle_stack.wait_terminal(job_id)
        finally:
            stalled.send_signal(signal.SIGCONT)
        assert_one_attempt_wrote_after_the_takeover(events, taking_over.name)
        entries = [orjson.loads(entry) for entry in await redis.lrange(keys.pages(job_id), 0, -1)]  # type: ignore[misc]
        assert len(entries) == LIMIT
        assert len({entry["url"] for entry in entries}) == LIMIT
        assert await redis.hget(keys.stats(), "completed") == b"1"
        # It found out (a refused write, or its lease renewal), stopped that job, and keeps serving.
        await stalled.wait_for_line("lease lost")
        assert stalled.process is not None and stalled.process.returncode is None


def assert_one_attempt_wrote_after_the_takeover(events: list[dict[str, Any]], worker: str) -> None:
    takeover = next(i for i, event in enumerate(events) if event["type"] == "started" and
                    event["data"]["worker"] == worker)
    later_pages = [event for event in events[takeover:] if event["type"] == "page"]
    # Pages of the new attempt only: the stalled worker, once resumed, may help it as one of the crawl's
    # parts (fenced by its page leases), but its stale attempt writes nothing.
    # Which worker fetches them is not decided: the resumed one, as a part, may take every page left.
    assert {event["data"]["attempt"] for event in later_pages} == {2}
    # The new attempt resumed the crawl: the pages done before the stall stay done, none is done twice.
    all_pages = [event["data"]["url"] for event in events if event["type"] == "page"]
    assert len(later_pages) < LIMIT
    assert len(all_pages) == len(set(all_pages)) == LIMIT
    assert [event["type"] for event in terminal_events(events)] == ["completed"]
    assert events[-1]["type"] == "completed" and events[-1]["data"]["summary"]["pages"] == LIMIT


# ---- the script itself ----

KEYS = Keyspace("fence-test")
LIMITS = StreamLimits(maxlen=1_000, ttl_s=600)


async def snapshot(redis: Redis, job_id: str) -> dict[str, Any]:
    """Everything a write of an attempt could change."""
    return {
        "xlen": await redis.xlen(KEYS.events(job_id)),
        "record": await redis.hgetall(KEYS.record(job_id)),  # type: ignore[misc]
        "llen": await redis.llen(KEYS.pages(job_id)),  # type: ignore[misc]
        "stats": await redis.hgetall(KEYS.stats()),  # type: ignore[misc]
        "result": await redis.get(KEYS.result(job_id)),
        "running": await redis.zrange(KEYS.running("owner-a"), 0, -1),
    }


async def job_taken_over(redis: Redis, job_id: str) -> None:
    """A job whose first claim (fence 1) a second one (fence 2) has taken over, with its slot running."""
    await create_stream(redis, KEYS.events(job_id), KEYS.record(job_id),
                        PendingEvent.make("queued", {}, {"status": "queued"}), limits=LIMITS)
    await redis.hset(KEYS.record(job_id), FENCE_FIELD, 2)  # type: ignore[misc]
    await redis.zadd(KEYS.running("owner-a"), {job_id: 1})


def attempt_writes(job_id: str) -> dict[str, Any]:
    """What an attempt writes at once: events, a page entry, a result, a counter."""
    return {
        "events": [PendingEvent.make("page", {"url": "https://example.com/"}, {"pages": 1}),
                   PendingEvent.make("completed", {"summary": {}}, {"status": "completed"})],
        "attach": [(KEYS.result(job_id), b"{}")],
        "then": [*push_commands(KEYS, job_id, b'{"url": "https://example.com/"}', 600),
                 ThenCommand("HINCRBY", KEYS.stats(), ("completed", 1))],
    }


async def test_a_write_under_a_stale_fence_is_refused_and_changes_nothing(redis: Redis) -> None:
    await job_taken_over(redis, "j1")
    before = await snapshot(redis, "j1")
    with pytest.raises(Superseded):
        await append_events(redis, KEYS.events("j1"), KEYS.record("j1"), **attempt_writes("j1"),
                            fence=Fence(FENCE_FIELD, 1), limits=LIMITS)
    assert await RunningCap(KEYS, per_owner=5, stale_after_ms=60_000).release(
        redis, "owner-a", "j1", fence=1) is None
    assert await snapshot(redis, "j1") == before

    # The current claim writes all of it, in the same script.
    ids = await append_events(redis, KEYS.events("j1"), KEYS.record("j1"), **attempt_writes("j1"),
                              fence=Fence(FENCE_FIELD, 2), limits=LIMITS)
    assert ids is not None and len(ids) == 2
    after = await snapshot(redis, "j1")
    assert (after["xlen"], after["llen"], after["stats"], after["result"]) == (3, 1, {b"completed": b"1"}, b"{}")


async def test_a_stale_attempt_stops_as_if_the_job_had_been_ended_by_someone_else(redis: Redis) -> None:
    await job_taken_over(redis, "j2")
    env = JobEnv(redis=redis, queue=QueueConfig(KEYS, LIMITS), worker_name="stalled",
                 attempt_limits=AttemptLimits(default_timeout_s=10, max_timeout_s=10))
    run = JobRun(env, "j2", attempt=1, fence=1)
    before = await snapshot(redis, "j2")
    with pytest.raises(JobCancelled, match="newer attempt"):
        await run.page("https://example.com/", 200, "A page")
    assert await snapshot(redis, "j2") == before


async def test_renewal_keeps_only_the_leases_the_worker_still_holds_and_names_the_others(redis: Redis) -> None:
    mine, lost, gone = KEYS.arq_in_progress("mine"), KEYS.arq_in_progress("lost"), KEYS.arq_in_progress("gone")
    await redis.psetex(mine, 1_000, lease_value("worker-a", 1))
    await redis.psetex(lost, 1_000, lease_value("worker-b", 2))  # the job's next claim, by another worker
    lapsed = await renew_leases(redis, KEYS, "worker-a", {"mine": 1, "lost": 1, "gone": 1}, lease_s=60)
    assert sorted(lapsed) == ["gone", "lost"]
    assert await redis.pttl(mine) > 1_000  # renewed
    assert await redis.pttl(lost) <= 1_000 and await redis.get(lost) == lease_value("worker-b", 2).encode()
    assert await redis.exists(gone) == 0


async def test_ending_a_run_whose_lease_is_another_claims_leaves_that_claims_lease_and_queue_entry(
    redis: Redis,
) -> None:
    await redis.psetex(KEYS.arq_in_progress("j3"), 60_000, lease_value("worker-b", 2))
    await redis.zadd(KEYS.arq_queue(), {"j3": 1})
    await redis.set(KEYS.arq_job("j3"), b"payload")
    ended = await finish_held_job(redis, KEYS, "j3", KEYS.arq_queue(), holder="worker-a", fence=1, finish=True,
                                  incr_score=None, keep_in_progress=None)
    assert not ended
    assert await redis.get(KEYS.arq_in_progress("j3")) == lease_value("worker-b", 2).encode()
    assert await redis.zscore(KEYS.arq_queue(), "j3") == 1
    assert await redis.exists(KEYS.arq_job("j3")) == 1
    assert await finish_held_job(redis, KEYS, "j3", KEYS.arq_queue(), holder="worker-b", fence=2, finish=True,
                                 incr_score=None, keep_in_progress=None)
    assert await redis.exists(KEYS.arq_in_progress("j3"), KEYS.arq_job("j3")) == 0
    assert await redis.zscore(KEYS.arq_queue(), "j3") is None

