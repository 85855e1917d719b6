"""`GET /queue`, `/metrics` and `GET /workers` while a job runs: running from its start, no longer queued.

arq keeps a running job in `arq:queue` until it ends, so the queue counted it as
queued, and running came from the worker's heartbeat: a job showed as running
only at the next heartbeat, and as queued meanwhile.
"""

from __future__ import annotations

import asyncio
from typing import Any

from jobs.settings import Settings
from tests.support.gated_site import gated_site
from tests.support.sse import read_sse
from tests.support.stack import Stack, running_stack


async def wait_for_fetch(stack: Stack, job_id: str) -> None:
    """Until the job says it is fetching: it is then blocked on the gated page."""
    async for event in read_sse(stack.client, f"/jobs/{job_id}/events"):
        if event["type"] == "progress" and event["data"]["phase"] == "fetch":
            return
    raise AssertionError(f"job {job_id} ended before it fetched")


async def queue(stack: Stack) -> dict[str, Any]:
    response = await stack.client.get("/queue")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def workers(stack: Stack) -> list[dict[str, Any]]:
    response = await stack.client.get("/workers")
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()["workers"]
    return listed


async def test_a_job_blocked_mid_fetch_counts_as_running_and_not_as_queued(settings: Settings) -> None:
    # One slot, so a second job waits; a short lease makes the worker's card (heartbeat) fresh quickly.
    one_slot = settings.model_copy(update={"worker_concurrency": 1, "worker_lease_s": 1.0})
    with gated_site() as (url, gate):
        async with running_stack(one_slot) as stack:
            job = await stack.submit({"type": "scrape", "url": url, "priority": 7})
            await wait_for_fetch(stack, job["id"])
            waiting = await stack.submit({"type": "scrape", "url": url + "?second", "priority": 3})

            now = await queue(stack)
            assert now["running"] == 1
            assert now["queued"]["total"] == 1 and now["queued"]["by_priority"]["3"] == 1
            assert now["queued"]["by_priority"]["7"] == 0  # the running one is not waiting
            metrics = (await stack.client.get("/metrics")).text
            assert "scrapestream_running 1.0" in metrics
            assert 'scrapestream_queued_jobs{priority="7"} 0.0' in metrics
            assert 'scrapestream_queued_jobs{priority="3"} 1.0' in metrics

            [worker] = await workers(stack)
            assert worker["jobs"] == [{"id": job["id"], "type": "scrape", "url": url,
                                       "started_at": worker["jobs"][0]["started_at"]}]
            assert worker["name"] == f"{worker['host']}:{worker['pid']}"
            assert worker["started_at"] <= worker["last_heartbeat"]
            assert worker["finished"] == 0

            gate.open()
            for done in (job, waiting):
                assert (await stack.wait_terminal(done["id"]))[-1]["type"] == "completed"
            # The terminal event comes first, then arq's end of the job frees the lease: wait for it.
            async with asyncio.timeout(30):  # a safety net, not a measure
                while (after := await queue(stack))["running"]:  # noqa: ASYNC110 - no event tells of arq's end
                    await asyncio.sleep(0.05)
            assert after["queued"]["total"] == 0 and after["completed"] == 2
            assert "scrapestream_running 0.0" in (await stack.client.get("/metrics")).text
            assert (await workers(stack))[0]["jobs"] == []
            # The card is the heartbeat's (every 0.25 s here): it says 2 from the next beat on.
            async with asyncio.timeout(30):  # a safety net, not a measure
                while (finished := (await workers(stack))[0]["finished"]) != 2:
                    assert finished in (0, 1)
                    await asyncio.sleep(0.05)


async def test_workers_needs_a_key_when_auth_is_required(settings: Settings) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True}), workers=0) as stack:
        assert (await stack.client.get("/workers")).status_code == 401
