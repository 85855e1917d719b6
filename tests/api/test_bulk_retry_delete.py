"""`POST /jobs/retry` and `POST /jobs/delete`: the caller's failed jobs re-run, finished ones deleted, in bulk."""

from __future__ import annotations

import uuid

from tests.support.sse import read_sse
from tests.support.stack import Stack


async def ended_once_more(stack: Stack, job_id: str, after_id: str) -> list[dict[str, object]]:
    """The job's events after `after_id`, up to its next terminal event."""
    return [e async for e in read_sse(stack.client, f"/jobs/{job_id}/events?last_event_id={after_id}")]


async def test_bulk_retry_of_failed_jobs_runs_them_again(stack: Stack, site: str) -> None:
    flaky = [await stack.submit({"type": "scrape", "url": f"{site}/flaky?key={uuid.uuid4().hex}&fail=1",
                                "max_attempts": 1})
             for _ in range(2)]
    fine = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    terminal = {}
    for job in [*flaky, fine]:
        events = await stack.wait_terminal(job["id"])
        terminal[job["id"]] = events[-1]
    assert [terminal[j["id"]]["type"] for j in flaky] == ["failed", "failed"]

    response = await stack.client.post("/jobs/retry", json={"status": "failed"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted(body["retried"]) == sorted(j["id"] for j in flaky)
    assert body["skipped"] == [] and body["next_cursor"] is None
    for job in flaky:
        again = await ended_once_more(stack, job["id"], terminal[job["id"]]["id"])
        lifecycle = [e["type"] for e in again if e["type"] not in ("progress", "page")]
        assert lifecycle == ["queued", "started", "completed"]
        record = (await stack.client.get(f"/jobs/{job['id']}")).json()
        assert record["status"] == "completed" and record["attempt"] == 2

    # By ids: one that is not failed nor cancelled, and one that does not exist, are skipped by name.
    unknown = uuid.uuid4().hex
    by_ids = (await stack.client.post("/jobs/retry", json={"ids": [fine["id"], unknown]})).json()
    assert by_ids["retried"] == []
    assert by_ids["skipped"] == [{"id": unknown, "reason": "not_found"},
                                 {"id": fine["id"], "reason": "not_retryable", "status": "completed"}]


async def test_bulk_retry_refuses_a_status_it_cannot_rerun(stack: Stack) -> None:
    response = await stack.client.post("/jobs/retry", json={"status": "completed"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "status"


async def test_delete_removes_finished_jobs_and_skips_unfinished_ones(stack: Stack, site: str) -> None:
    done = [await stack.submit({"type": "scrape", "url": f"{site}/plain?n={n}"}) for n in range(2)]
    failed = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
    for job in [*done, failed]:
        await stack.wait_terminal(job["id"])
    waiting = await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 3600})

    response = await stack.client.post("/jobs/delete", json={"ids": [done[0]["id"], waiting["id"]]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deleted"] == [done[0]["id"]]
    assert body["skipped"] == [{"id": waiting["id"], "reason": "not_finished", "status": "scheduled"}]
    assert (await stack.client.get(f"/jobs/{done[0]['id']}")).status_code == 404
    assert (await stack.client.get(f"/jobs/{done[0]['id']}/result")).status_code == 404
    assert (await stack.client.get(f"/jobs/{waiting['id']}")).json()["status"] == "scheduled"

    by_filter = (await stack.client.post("/jobs/delete", json={"status": "failed"})).json()
    assert by_filter["deleted"] == [failed["id"]]
    listed = {job["id"] for job in (await stack.client.get("/jobs")).json()["jobs"]}
    assert listed == {done[1]["id"], waiting["id"]}
    redis, keys = stack.state.redis, stack.state.keys
    assert await redis.exists(keys.record(failed["id"]), keys.events(failed["id"]), keys.result(failed["id"])) == 0


async def test_delete_needs_ids_or_a_status(stack: Stack) -> None:
    response = await stack.client.post("/jobs/delete", json={})
    assert response.status_code == 422 and response.json()["error"]["field"] == "ids"
