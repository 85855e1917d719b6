"""Workers fill every free slot: jobs already running do not hide the queued jobs behind them.

arq keeps a running job in its queue until it ends. The worker used to cut its
listing of the queue to its free slots before it left out the running jobs, so
a second worker saw only the first worker's jobs and started nothing while
jobs waited behind them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Collection
from typing import Any

from jobs.queue.claim import FENCE_FIELD, lease_value
from jobs.settings import Settings
from streams.keys import Keyspace
from tests.reliability.helpers import events_until, started, terminal_events
from tests.support.gated_site import gated_site
from tests.support.stack import Stack
from tests.support.worker_process import worker_process

SLOTS = 8
# The gated page holds each job mid-fetch until the test opens the gate.
HOLD = {"WORKER_CONCURRENCY": str(SLOTS), "FETCH_TIMEOUT_S": "120", "FETCH_READ_TIMEOUT_S": "120"}


async def until_done(tasks: Collection[asyncio.Task[Any]], count: int) -> None:
    pending = set(tasks)
    while len(pending) > len(tasks) - count:
        _done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)


async def test_a_second_worker_starts_the_jobs_queued_behind_the_first_workers_running_ones(
    idle_stack: Stack, settings: Settings
) -> None:
    keys = Keyspace(settings.key_prefix)
    redis = idle_stack.state.redis
    with gated_site() as (page, gate):
        jobs = [(await idle_stack.submit({"type": "scrape", "url": f"{page}?n={n}"}))["id"] for n in range(2 * SLOTS)]
        async with asyncio.timeout(90), worker_process(settings, **HOLD) as first:
            starts = {asyncio.create_task(events_until(idle_stack, job_id, started())): job_id for job_id in jobs}
            await until_done(starts, SLOTS)  # the first worker fills its slots with the front of the queue
            async with worker_process(settings, **HOLD) as second:
                # Every job starts while none has been let go: the second worker looked past
                # the first worker's running jobs at the front of the queue.
                await asyncio.gather(*starts)
                starters = Counter(
                    next(e for e in task.result() if e["type"] == "started")["data"]["worker"] for task in starts)
                assert starters == {first.name: SLOTS, second.name: SLOTS}

                # Each claim took a fence, and the lease names the claim that holds it.
                for task, job_id in starts.items():
                    worker = next(e for e in task.result() if e["type"] == "started")["data"]["worker"]
                    assert await redis.hget(keys.record(job_id), FENCE_FIELD) == b"1"
                    assert await redis.get(keys.arq_in_progress(job_id)) == lease_value(worker, 1).encode()

                gate.open()
                ends = await asyncio.gather(*(idle_stack.wait_terminal(job_id) for job_id in jobs))
    for events in ends:
        assert [event["type"] for event in terminal_events(events)] == ["completed"]
        assert events[-1]["type"] == "completed"
