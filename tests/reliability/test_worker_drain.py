"""SIGTERM drains a worker: no new jobs, running ones finish or are requeued as the same attempt, exit 0.

Before, SIGTERM cancelled every running job at once, and each ran again as a
new attempt that counted against `max_attempts`.
"""

from __future__ import annotations

import asyncio
import signal

from jobs.settings import Settings
from tests.reliability.helpers import events_until, started, terminal_events
from tests.support.gated_site import gated_site
from tests.support.stack import Stack
from tests.support.worker_process import worker_process

HOLD = {"FETCH_TIMEOUT_S": "120", "FETCH_READ_TIMEOUT_S": "120"}


async def test_a_job_running_at_sigterm_finishes_on_its_worker_which_takes_no_new_job_and_exits_0(
    idle_stack: Stack, settings: Settings
) -> None:
    with gated_site() as (page, gate):
        job_id = (await idle_stack.submit({"type": "scrape", "url": page}))["id"]
        async with asyncio.timeout(60), worker_process(settings, **HOLD, WORKER_DRAIN_S="60") as worker:
            await events_until(idle_stack, job_id, started())
            worker.send_signal(signal.SIGTERM)
            await worker.wait_for_line("draining")
            # Submitted while the worker drains, with its slots free: it must stay queued.
            later_id = (await idle_stack.submit({"type": "scrape", "url": f"{page}?later"}))["id"]
            gate.open()
            assert await worker.wait() == 0
        events = await idle_stack.wait_terminal(job_id)
        later = await idle_stack.client.get(f"/jobs/{later_id}/events", params={"format": "json"})
        record = (await idle_stack.client.get(f"/jobs/{later_id}")).json()
    assert [e["type"] for e in events if e["type"] in ("started", "retrying")] == ["started"]
    assert [e["type"] for e in terminal_events(events)] == ["completed"]
    assert events[-1]["type"] == "completed"
    assert [e["type"] for e in later.json()] == ["queued"]
    assert record["status"] == "queued"


async def test_a_job_longer_than_the_drain_is_requeued_and_finished_by_another_worker_as_the_same_attempt(
    idle_stack: Stack, settings: Settings
) -> None:
    with gated_site() as (page, gate):
        job_id = (await idle_stack.submit({"type": "scrape", "url": page}))["id"]
        async with asyncio.timeout(60), worker_process(settings, **HOLD, WORKER_DRAIN_S="1") as leaving:
            await events_until(idle_stack, job_id, started())
            async with worker_process(settings, **HOLD) as staying:
                leaving.send_signal(signal.SIGTERM)
                assert await leaving.wait() == 0
                again = await events_until(idle_stack, job_id, started(2))
                assert (again[-1]["data"]["attempt"], again[-1]["data"]["worker"]) == (1, staying.name)
                gate.open()
                events = await idle_stack.wait_terminal(job_id)
        record = (await idle_stack.client.get(f"/jobs/{job_id}")).json()
    handover = [(e["type"], e["data"].get("worker") or e["data"].get("code"))
                for e in events if e["type"] in ("started", "retrying")]
    assert handover == [("started", leaving.name), ("retrying", "worker_shutdown"), ("started", staying.name)]
    retrying = next(e for e in events if e["type"] == "retrying")
    assert (retrying["data"]["attempt"], retrying["data"]["delay_s"]) == (1, 0)
    assert [e["type"] for e in terminal_events(events)] == ["completed"]
    assert events[-1]["type"] == "completed"
    assert record["attempt"] == 1  # the drained run did not count
