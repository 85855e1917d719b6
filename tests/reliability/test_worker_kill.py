"""A SIGKILLed worker's job starts on another worker once its lease lapses, as the next attempt.

The lease is short here (2 s) to keep the test quick; bench/worker_kill.py
measures the kill → restart time with the default WORKER_LEASE_S.
"""

from __future__ import annotations

import asyncio

from jobs.settings import Settings
from tests.reliability.helpers import events_until, started, terminal_events
from tests.support.gated_site import gated_site
from tests.support.stack import Stack
from tests.support.worker_process import worker_process

ENV = {"WORKER_LEASE_S": "2", "FETCH_TIMEOUT_S": "120", "FETCH_READ_TIMEOUT_S": "120"}


async def test_a_killed_workers_job_starts_on_another_worker_as_the_next_attempt(
    idle_stack: Stack, settings: Settings
) -> None:
    with gated_site() as (page, gate):
        job_id = (await idle_stack.submit({"type": "scrape", "url": page}))["id"]
        async with asyncio.timeout(90), worker_process(settings, **ENV) as doomed:
            first = await events_until(idle_stack, job_id, started())
            assert (first[-1]["data"]["attempt"], first[-1]["data"]["worker"]) == (1, doomed.name)
            # The survivor is up before the kill: it must not take a job whose lease is renewed.
            async with worker_process(settings, **ENV) as survivor:
                await doomed.kill()
                again = await events_until(idle_stack, job_id, started(2))
                assert (again[-1]["data"]["attempt"], again[-1]["data"]["worker"]) == (2, survivor.name)
                gate.open()
                events = await idle_stack.wait_terminal(job_id)
    assert [e["data"]["worker"] for e in events if e["type"] == "started"] == [doomed.name, survivor.name]
    assert [e["type"] for e in terminal_events(events)] == ["completed"]
    assert events[-1]["type"] == "completed"
