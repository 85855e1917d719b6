"""Worker pools per kind: `scrapestream worker --kinds crawl,batch` (or WORKER_KINDS) takes only those kinds.

Each kind waits in its own queue; a worker started for some kinds never runs
another's job, which waits (visible per kind in `/queue`, `/metrics` and
`scrapestream info`) until a worker that takes it starts. Jobs an older
version left in the one shared queue still run, each on a worker of its kind.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import pytest
from redis.asyncio import Redis

from jobs.lifecycle.submit import QueueConfig, submit_job
from jobs.models import CrawlRequest, ScrapeRequest
from jobs.queue.lanes import Lane, deal_slots
from jobs.queue.scores import promote_due
from jobs.settings import Settings
from jobs.worker.context import worker_context
from jobs.worker.runner import InstantWorker
from streams.events import now_ms
from streams.keys import Keyspace
from streams.publish import StreamLimits
from tests.cli.conftest import run_cli
from tests.reliability.helpers import events_until, started
from tests.support.gated_site import gated_site
from tests.support.process import ROOT, settings_env
from tests.support.stack import Stack, running_stack, running_worker
from tests.support.worker_process import worker_process


async def run_ended(worker: InstantWorker, arq_id: str) -> None:
    """Until the worker's run of `arq_id` is over, arq's end of it (in the job's queue) included: a job's
    terminal event is published just before that end."""
    run = worker.tasks.get(arq_id)
    if run is not None:
        await asyncio.wait([run])


async def queue_numbers(stack: Stack) -> dict[str, Any]:
    response = await stack.client.get("/queue")
    assert response.status_code == 200
    numbers: dict[str, Any] = response.json()
    return numbers


async def metric_lines(stack: Stack, prefix: str) -> list[str]:
    response = await stack.client.get("/metrics")
    return [line for line in response.text.splitlines() if line.startswith(prefix)]


@pytest.mark.parametrize("how", ["--kinds", "WORKER_KINDS"])
async def test_a_crawl_and_batch_worker_never_runs_a_scrape_which_waits_for_a_worker_that_takes_it(
    idle_stack: Stack, settings: Settings, site: str, how: str
) -> None:
    stack = idle_stack
    scrape = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    args, env = (["--kinds", "crawl,batch"], {}) if how == "--kinds" else ([], {"WORKER_KINDS": "crawl, batch"})
    async with asyncio.timeout(90), worker_process(settings, args, **env) as pool:
        # Submitted after the scrape, to a worker with every slot free: it runs, the scrape does not.
        batch = await stack.submit({"type": "batch", "urls": [f"{site}/plain"]})
        crawl = await stack.submit({"type": "crawl", "url": f"{site}/plain", "limit": 1})
        assert (await stack.wait_terminal(batch["id"]))[-1]["type"] == "completed"
        assert (await stack.wait_terminal(crawl["id"]))[-1]["type"] == "completed"

        history = (await stack.client.get(f"/jobs/{scrape['id']}/events", params={"format": "json"})).json()
        assert [event["type"] for event in history] == ["queued"]
        numbers = await queue_numbers(stack)
        assert numbers["kinds"]["scrape"] == {"queued": 1, "running": 0, "retrying": 0, "workers": 0}
        assert numbers["kinds"]["crawl"]["workers"] == numbers["kinds"]["batch"]["workers"] == 1
        assert numbers["kinds"]["ask"]["workers"] == 0
        workers = (await stack.client.get("/workers")).json()["workers"]
        assert [(worker["name"], worker["kinds"]) for worker in workers] == [(pool.name, ["crawl", "batch"])]
        assert 'scrapestream_kind_queued{kind="scrape"} 1.0' in await metric_lines(stack, "scrapestream_kind_queued")
        assert 'scrapestream_kind_workers{kind="scrape"} 0.0' in await metric_lines(stack, "scrapestream_kind_workers")

        info = await run_cli(["info"], stack.base_url)
        rows = {line.split()[0]: line.split()[1:] for line in info.stdout.splitlines() if line.strip()}
        assert rows["kind"] == ["queued", "running", "retrying", "workers"]
        assert rows["scrape"] == ["1", "0", "0", "0"] and rows["crawl"] == ["0", "0", "0", "1"]
        assert "crawl,batch" in info.stdout  # the worker table's kinds column

        # A worker that takes scrapes starts: the scrape runs on it.
        async with running_worker(settings) as general:
            events = await stack.wait_terminal(scrape["id"])
    assert events[-1]["type"] == "completed"
    first_start = next(event for event in events if event["type"] == "started")
    assert first_start["data"]["worker"] == worker_context(general.ctx).env.worker_name


@pytest.mark.parametrize(("args", "env", "named"), [
    (["--kinds", "crawl,scrap"], {}, "argument --kinds: unknown job kind 'scrap'"),
    ([], {"WORKER_KINDS": "crawl,rag"}, "WORKER_KINDS: unknown job kind 'rag'"),
])
async def test_an_unknown_kind_is_a_startup_error_naming_it_and_the_kinds_there_are(
    settings: Settings, args: list[str], env: dict[str, str], named: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", "worker", *args, cwd=ROOT, env={**settings_env(settings), **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        _out, err = await process.communicate()
    assert process.returncode == 2
    message = err.decode()
    assert named in message and "the kinds are scrape, crawl, batch, ask" in message
    assert "Traceback" not in message


async def test_priorities_hold_within_a_kind_whatever_the_other_kinds_hold(
    idle_stack: Stack, settings: Settings, site: str
) -> None:
    stack = idle_stack
    low = await stack.submit({"type": "scrape", "url": f"{site}/plain?low", "priority": 1})
    crawl = await stack.submit({"type": "crawl", "url": f"{site}/plain", "limit": 1, "priority": 9})
    normal = await stack.submit({"type": "scrape", "url": f"{site}/plain?normal", "priority": 5})
    high = await stack.submit({"type": "scrape", "url": f"{site}/plain?high", "priority": 9})
    # One slot, scrapes only: they start one after another, in priority order; the crawl is not theirs.
    async with running_worker(settings, max_jobs=1, kinds=("scrape",)):
        for job in (low, normal, high):
            assert (await stack.wait_terminal(job["id"]))[-1]["type"] == "completed"
    activity = await stack.state.redis.xrange(stack.state.keys.owner_activity("public"))
    starts = [entry[b"data"] for _id, entry in activity if entry[b"type"] == b"started"]
    order = [next(job["id"] for job in (low, normal, high) if job["id"].encode() in data) for data in starts]
    assert order == [high["id"], normal["id"], low["id"]]
    assert (await queue_numbers(stack))["kinds"]["crawl"]["queued"] == 1
    assert [e["type"] for e in (await stack.client.get(f"/jobs/{crawl['id']}/events?format=json")).json()] == [
        "queued"]


async def test_a_deep_queue_of_one_kind_does_not_starve_another_in_a_worker_that_takes_both(
    idle_stack: Stack, settings: Settings, site: str
) -> None:
    """Six batches wait (each held by a page that answers when the test says), then one scrape: with two
    slots, the scrape gets one of them, and completes while every batch still waits or hangs."""
    stack = idle_stack
    with gated_site() as (page, gate):
        batches = [await stack.submit({"type": "batch", "urls": [f"{page}?{n}"]}) for n in range(6)]
        scrape = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        async with running_worker(settings, max_jobs=2):
            assert (await stack.wait_terminal(scrape["id"]))[-1]["type"] == "completed"
            # Every batch still waits or hangs (a freed slot may have gone to the next one meanwhile).
            batch = (await queue_numbers(stack))["kinds"]["batch"]
            assert batch["running"] in (1, 2) and batch["running"] + batch["queued"] == 6
            gate.open()
            for batch in batches:
                assert (await stack.wait_terminal(batch["id"]))[-1]["type"] == "completed"


def test_free_slots_go_to_the_lane_with_the_fewest_jobs_running_then_evenly() -> None:
    keys = Keyspace()
    lanes = [Lane("scrape", keys.kind_queue("scrape")), Lane("crawl", keys.kind_queue("crawl"))]
    assert deal_slots(2, {"crawl": 31}, lanes) == {"scrape": 2, "crawl": 0}
    assert deal_slots(5, {"crawl": 2}, lanes) == {"scrape": 4, "crawl": 1}  # 4 and 3 running then
    assert deal_slots(1, {}, lanes) == {"scrape": 1, "crawl": 0}


async def write_like_the_one_queue_version(redis: Redis, keys: Keyspace, request: Any) -> str:
    """A job as the version with one queue wrote it: record, `queued` event, payload, and its entry in
    `arq:queue` (the payload format did not change; only where the entry goes)."""
    config = QueueConfig(keys=keys, limits=StreamLimits(maxlen=1000, ttl_s=3600))
    job = await submit_job(redis, config, request, owner="public")
    score = await redis.zscore(keys.kind_queue(request.type), job.id)
    assert score is not None
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(keys.kind_queue(request.type), job.id)
        pipe.zadd(keys.arq_queue(), {job.id: score})
        await pipe.execute()
    return job.id


async def test_jobs_left_in_the_one_shared_queue_by_an_older_version_run_each_on_a_worker_of_its_kind(
    idle_stack: Stack, settings: Settings, site: str
) -> None:
    stack = idle_stack
    redis, keys = stack.state.redis, stack.state.keys
    legacy_scrape = await write_like_the_one_queue_version(redis, keys, ScrapeRequest(url=f"{site}/plain"))
    legacy_crawl = await write_like_the_one_queue_version(redis, keys, CrawlRequest(url=f"{site}/plain", limit=1))
    assert await redis.zcard(keys.arq_queue()) == 2
    assert (await queue_numbers(stack))["kinds"]["scrape"]["queued"] == 1  # counted under its kind

    async with asyncio.timeout(90), worker_process(settings, ["--kinds", "crawl"]):
        assert (await stack.wait_terminal(legacy_crawl))[-1]["type"] == "completed"
        # The crawl worker looked at the shared queue, and left the scrape in it.
        fresh = await stack.submit({"type": "crawl", "url": f"{site}/plain", "limit": 1})
        assert (await stack.wait_terminal(fresh["id"]))[-1]["type"] == "completed"
        history = (await stack.client.get(f"/jobs/{legacy_scrape}/events", params={"format": "json"})).json()
        assert [event["type"] for event in history] == ["queued"]
        assert await redis.zscore(keys.arq_queue(), legacy_scrape) is not None
    async with running_worker(settings, kinds=("scrape",)) as scrapes:
        assert (await stack.wait_terminal(legacy_scrape))[-1]["type"] == "completed"
        await run_ended(scrapes, legacy_scrape)
        assert await redis.zscore(keys.arq_queue(), legacy_scrape) is None


async def test_cancel_takes_a_queued_job_out_of_its_kinds_queue_and_a_retry_puts_it_back_there(
    idle_stack: Stack, site: str
) -> None:
    stack = idle_stack
    redis, keys = stack.state.redis, stack.state.keys
    job = await stack.submit({"type": "batch", "urls": [f"{site}/plain"]})
    assert await redis.zscore(keys.kind_queue("batch"), job["id"]) is not None
    assert (await stack.client.delete(f"/jobs/{job['id']}")).status_code == 202
    assert await redis.zscore(keys.kind_queue("batch"), job["id"]) is None
    assert (await queue_numbers(stack))["kinds"]["batch"]["queued"] == 0
    retried = await stack.client.post("/jobs/retry", json={"ids": [job["id"]]})
    assert retried.json()["retried"] == [job["id"]]
    assert await redis.zrange(keys.kind_queue("batch"), 0, -1) == [f"{job['id']}.1".encode()]
    assert (await queue_numbers(stack))["kinds"]["batch"]["queued"] == 1


async def test_a_scheduled_job_is_promoted_into_its_kinds_queue(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    keys = Keyspace("t")
    try:
        config = QueueConfig(keys=keys, limits=StreamLimits(maxlen=100, ttl_s=600))
        job = await submit_job(redis, config, CrawlRequest(url="https://example.com/", delay_s=60), owner="o")
        assert await redis.zcard(keys.kind_queue("crawl")) == 0
        moved, _next = await promote_due(redis, keys, now_ms=now_ms() + 120_000, step_ms=60_000)
        assert moved == 1
        assert await redis.zscore(keys.kind_queue("crawl"), job.id) is not None
        assert await redis.zcard(keys.arq_queue()) == await redis.zcard(keys.kind_queue("scrape")) == 0
    finally:
        await redis.aclose()


async def test_a_drained_job_goes_back_to_its_kinds_queue_for_a_worker_of_that_kind(
    idle_stack: Stack, settings: Settings
) -> None:
    import signal

    stack = idle_stack
    with gated_site() as (page, gate):
        job = await stack.submit({"type": "batch", "urls": [page]})
        async with asyncio.timeout(90), worker_process(settings, ["--kinds", "batch"], WORKER_DRAIN_S="0",
                                                       FETCH_TIMEOUT_S="120", FETCH_READ_TIMEOUT_S="120") as leaving:
            await events_until(stack, job["id"], started())
            leaving.send_signal(signal.SIGTERM)
            assert await leaving.wait() == 0
        assert await stack.state.redis.zscore(stack.state.keys.kind_queue("batch"), job["id"]) is not None
        gate.open()
        async with running_worker(settings, kinds=("batch",)):
            events = await stack.wait_terminal(job["id"])
    assert [e["type"] for e in events if e["type"] in ("started", "retrying", "completed")] == [
        "started", "retrying", "started", "completed"]


async def test_a_retry_delay_defers_the_job_in_its_kinds_queue(settings: Settings, site: str) -> None:
    """arq's end of an attempt that will be retried moves the job's score in the queue it was claimed from."""
    slow_retries = settings.model_copy(update={"retry_base_s": 600.0, "retry_max_delay_s": 600.0})
    async with running_stack(slow_retries) as stack:
        redis, keys = stack.state.redis, stack.state.keys
        job = await stack.submit({"type": "scrape", "url": f"{site}/status/503", "max_attempts": 2})
        await events_until(stack, job["id"], lambda events: events[-1]["type"] == "retrying")
        # The worker ends the attempt (moving the score) just after the event: wait for that run to end.
        await run_ended(stack.workers[0], job["id"])
        score = await redis.zscore(keys.kind_queue("scrape"), job["id"])
        assert score is not None and score > now_ms()
        assert await redis.zscore(keys.arq_queue(), job["id"]) is None
        assert (await queue_numbers(stack))["kinds"]["scrape"]["retrying"] == 1
        assert (await stack.client.delete(f"/jobs/{job['id']}")).status_code == 202


async def test_a_poison_payload_in_a_kinds_queue_fails_its_job_and_leaves_that_queue(stack: Stack, site: str) -> None:
    redis, keys = stack.state.redis, stack.state.keys
    job = await stack.submit({"type": "crawl", "url": f"{site}/plain", "delay_s": 3600})
    async with redis.pipeline(transaction=True) as pipe:  # as anyone with access to Redis could
        pipe.zrem(keys.scheduled(), job["id"])
        pipe.set(keys.arq_job(job["id"]), b"\x80\x04not json", ex=600)
        pipe.zadd(keys.kind_queue("crawl"), {job["id"]: 1})
        pipe.publish(keys.wake_channel(), b"job")
        await pipe.execute()
    events = await stack.wait_terminal(job["id"])
    assert (events[-1]["type"], events[-1]["data"]["code"]) == ("failed", "invalid_payload")
    # The worker takes the entry out right after the failure it published: wait for that run to end.
    await run_ended(stack.workers[0], job["id"])
    assert await redis.zscore(keys.kind_queue("crawl"), job["id"]) is None
