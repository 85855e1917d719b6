"""One crawl (or batch) on every worker: two worker processes share its frontier, limit, politeness and fate.

Each test starts two real worker processes and crawls a loopback site that
counts what it serves. The coordinator's worker leaves the crawl's part to the
other one, so page events come from both; a SIGKILLed worker's leased pages go
to the other within the lease (2 s here); a cancel stops both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from jobs.settings import Settings
from streams.keys import Keyspace
from tests.reliability.helpers import Event, events_until, started, terminal_events
from tests.support.crawl_site import WideSite
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack
from tests.support.worker_process import WorkerProcess, worker_process

# Short leases so a dead worker's pages come back quickly; 3 requests at once per host across both workers,
# though each worker alone would run 6.
ENV = {"WORKER_LEASE_S": "2", "WORKER_POLL_S": "0.1", "HOST_CONCURRENCY": "3", "CRAWL_CONCURRENCY": "6"}
HOST_CONCURRENCY = 3


@pytest.fixture
def wide_site() -> Iterator[tuple[WideSite, str]]:
    site = WideSite(pages=300, delay_s=0.02)
    with serve_in_thread(site.app()) as base_url:
        yield site, base_url


@contextlib.asynccontextmanager
async def two_workers(settings: Settings) -> AsyncIterator[tuple[WorkerProcess, WorkerProcess]]:
    async with worker_process(settings, **ENV) as first, worker_process(settings, **ENV) as second:
        yield first, second


def page_events(events: list[Event]) -> list[Event]:
    return [event for event in events if event["type"] == "page"]


def pages_from(*workers: str, count: int = 1) -> Any:
    """`done` for `events_until`: at least `count` page events from each of `workers`."""
    return lambda events: all(sum(e["data"]["worker"] == w for e in page_events(events)) >= count for w in workers)


async def entries(redis: Redis, settings: Settings, job_id: str) -> list[dict[str, Any]]:
    raw = await redis.lrange(Keyspace(settings.key_prefix).pages(job_id), 0, -1)  # type: ignore[misc]
    return [orjson.loads(entry) for entry in raw]


def assert_each_page_once(events: list[Event], pages: list[dict[str, Any]], limit: int) -> None:
    urls = [event["data"]["url"] for event in page_events(events)]
    assert len(urls) == len(set(urls)) == limit
    assert len(pages) == len({page["url"] for page in pages}) == limit
    assert {page["url"] for page in pages} == set(urls)
    assert [event["type"] for event in terminal_events(events)] == ["completed"]
    assert events[-1]["data"]["summary"]["pages"] == limit


async def test_a_crawl_on_two_workers_fetches_each_page_once_within_the_limit_and_the_host_slots(
    idle_stack: Stack, settings: Settings, wide_site: tuple[WideSite, str], redis: Redis,
) -> None:
    site, base_url = wide_site
    async with asyncio.timeout(120), two_workers(settings) as (first, second):
        job = await idle_stack.submit({"type": "crawl", "url": f"{base_url}/", "limit": 120, "max_depth": 2})
        events = await idle_stack.wait_terminal(job["id"])
    assert {event["data"]["worker"] for event in page_events(events)} == {first.name, second.name}
    assert_each_page_once(events, await entries(redis, settings, job["id"]), 120)
    percents = [event["data"]["percent"] for event in events if event["type"] == "progress"]
    assert percents == sorted(percents) and percents[-1] == 100
    # Both workers together kept to the host's slots (each alone would have run 6), and filled them.
    assert site.most_in_flight == HOST_CONCURRENCY
    assert site.requests.count("/robots.txt") == 1  # read once, shared
    assert len([path for path in site.requests if path != "/robots.txt"]) == 120


async def test_a_batch_on_two_workers_keeps_the_order_of_its_urls(
    idle_stack: Stack, settings: Settings, wide_site: tuple[WideSite, str], redis: Redis,
) -> None:
    _site, base_url = wide_site
    urls = [f"{base_url}/p/{n}" for n in range(60)] + [f"{base_url}/missing"]
    async with asyncio.timeout(120), two_workers(settings) as (first, second):
        job = await idle_stack.submit({"type": "batch", "urls": urls, "formats": ["metadata"]})
        events = await idle_stack.wait_terminal(job["id"])
    assert {event["data"]["worker"] for event in page_events(events)} == {first.name, second.name}
    pages = await entries(redis, settings, job["id"])
    assert [page["url"] for page in pages] == urls
    assert [page.get("title") for page in pages[:60]] == [f"Page {n}" for n in range(60)]
    assert pages[60]["error"]["code"] == "http_status"
    assert sorted(event["data"]["index"] for event in page_events(events)) == list(range(61))
    assert events[-1]["data"]["summary"] == {"pages": 61, "failed": 1}


@pytest.mark.parametrize("victim", ["part", "coordinator"])
async def test_a_worker_killed_mid_crawl_leaves_its_pages_to_the_other_and_each_page_is_done_once(
    idle_stack: Stack, settings: Settings, wide_site: tuple[WideSite, str], redis: Redis, victim: str,
) -> None:
    _site, base_url = wide_site
    limit = 150
    async with asyncio.timeout(120), two_workers(settings) as workers:
        job_id = (await idle_stack.submit({"type": "crawl", "url": f"{base_url}/", "limit": limit,
                                           "max_depth": 2}))["id"]
        coordinator_name = (await events_until(idle_stack, job_id, started()))[-1]["data"]["worker"]
        coordinator, part = workers if workers[0].name == coordinator_name else workers[::-1]
        await events_until(idle_stack, job_id, pages_from(coordinator.name, part.name, count=3))
        doomed, survivor = (coordinator, part) if victim == "coordinator" else (part, coordinator)
        await doomed.kill()
        events = await idle_stack.wait_terminal(job_id)
    assert_each_page_once(events, await entries(redis, settings, job_id), limit)
    starts = [event["data"]["worker"] for event in events if event["type"] == "started"]
    # A dead coordinator's job runs again on the survivor, which resumes the crawl rather than restarting it.
    assert starts == ([coordinator.name, survivor.name] if victim == "coordinator" else [coordinator.name])
    killed_at = max(i for i, event in enumerate(events) if event["type"] == "page" and
                    event["data"]["worker"] == doomed.name)
    assert {event["data"]["worker"] for event in page_events(events[killed_at + 1:])} == {survivor.name}


async def ended(worker: WorkerProcess, arq_ref: str) -> None:
    """The worker's log says the arq job `arq_ref` (`<arq id>:<function>`) ended, aborted or returned."""
    await worker.wait_for_line(arq_ref, lambda line: "aborted" in line or "●" in line)


async def test_a_scrape_starts_during_a_big_crawl_and_a_cancel_stops_every_workers_fetching(
    idle_stack: Stack, settings: Settings, wide_site: tuple[WideSite, str], redis: Redis, site: str,
) -> None:
    crawled, base_url = wide_site
    crawled.delay_s = 0.1  # a slow crawl of 300 pages: it runs for many seconds
    async with asyncio.timeout(120), two_workers(settings) as workers:
        job_id = (await idle_stack.submit({"type": "crawl", "url": f"{base_url}/", "limit": 300,
                                           "max_depth": 2}))["id"]
        await events_until(idle_stack, job_id, pages_from(*(worker.name for worker in workers), count=2))

        # Fairness: the crawl holds one slot per worker, so a scrape submitted now runs at once.
        scrape = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": 5})
        assert (await idle_stack.wait_terminal(scrape["id"]))[-1]["type"] == "completed"
        assert (await idle_stack.client.get(f"/jobs/{job_id}")).json()["status"] == "running"
        # An operator sees the crawl on both workers: the coordinator's job, and the part the other one runs.
        cards = (await idle_stack.client.get("/workers")).json()["workers"]
        assert {card["name"]: [job["id"] for job in card["jobs"]] for card in cards} == {
            worker.name: [job_id] for worker in workers}

        answer = await idle_stack.client.delete(f"/jobs/{job_id}")
        assert answer.status_code == 202
        coordinator = (await events_until(idle_stack, job_id, started()))[-1]["data"]["worker"]
        for worker in workers:
            await ended(worker, f"{job_id}:crawl" if worker.name == coordinator else f"cp-{job_id}-1:crawl_part")
        served = len(crawled.requests)
        # Both workers go on serving: another job runs on them, and the crawled site hears nothing more.
        for _ in range(2):
            other = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
            assert (await idle_stack.wait_terminal(other["id"]))[-1]["type"] == "completed"
    assert len(crawled.requests) == served
    history = await redis.xrange(Keyspace(settings.key_prefix).events(job_id))
    types = [fields[b"type"] for _id, fields in history]
    assert types[-1] == b"cancelled" and types.count(b"cancelled") == 1
