"""Retries, timeouts, priorities, scheduling, idempotency, result cache, failed jobs and re-runs."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from jobs.settings import Settings
from tests.support.site import HITS
from tests.support.stack import Stack, running_stack, running_worker


def key() -> str:
    return uuid.uuid4().hex


async def test_transient_failures_are_retried_with_backoff(settings: Settings, site: str) -> None:
    fast = settings.model_copy(update={"retry_base_s": 0.1, "retry_max_delay_s": 0.5})
    async with running_stack(fast) as stack:
        job = await stack.submit({"type": "scrape", "url": f"{site}/flaky?key={key()}&fail=2", "max_attempts": 3})
        events = await stack.wait_terminal(job["id"])
    kinds = [e["type"] for e in events]
    assert kinds.count("started") == 3 and kinds.count("retrying") == 2
    assert kinds[-1] == "completed"
    assert [e["data"]["attempt"] for e in events if e["type"] == "started"] == [1, 2, 3]
    retrying = [e["data"] for e in events if e["type"] == "retrying"]
    assert [r["attempt"] for r in retrying] == [1, 2]
    assert all(r["code"] == "http_status" and r["status"] == 503 and r["delay_s"] > 0 for r in retrying)
    assert "503" in retrying[0]["message"]


async def test_retries_stop_at_max_attempts(settings: Settings, site: str) -> None:
    fast = settings.model_copy(update={"retry_base_s": 0.05, "retry_max_delay_s": 0.1})
    async with running_stack(fast) as stack:
        job = await stack.submit({"type": "scrape", "url": f"{site}/flaky?key={key()}&fail=9", "max_attempts": 2})
        events = await stack.wait_terminal(job["id"])
        record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert [e["type"] for e in events].count("started") == 2
    assert events[-1]["type"] == "failed" and events[-1]["data"]["code"] == "http_status"
    assert record["attempt"] == 2 and record["status"] == "failed"


async def test_permanent_failures_fail_at_once(stack: Stack, site: str) -> None:
    for url in (f"{site}/status/404", f"{site}/doc.pdf"):
        job = await stack.submit({"type": "scrape", "url": url, "max_attempts": 5})
        events = await stack.wait_terminal(job["id"])
        assert "retrying" not in [e["type"] for e in events]
        assert events[-1]["type"] == "failed"


async def test_max_attempts_and_timeout_are_bounded_by_the_server(stack: Stack, site: str) -> None:
    too_many = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain", "max_attempts": 99})
    assert too_many.status_code == 422 and too_many.json()["error"]["field"] == "max_attempts"
    too_long = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain", "timeout_s": 1e9})
    assert too_long.status_code == 422 and too_long.json()["error"]["field"] == "timeout_s"


async def test_timeout_ends_the_job_on_time_whatever_it_does(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/trickle", "timeout_s": 2})
    events = await stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "failed"
    assert events[-1]["data"]["code"] == "job_timeout"  # not the 30 s fetch deadline's error
    started = next(e for e in events if e["type"] == "started")
    assert events[-1]["data"]["ts"] - started["data"]["ts"] >= 2_000  # not before its timeout


async def test_a_high_priority_job_starts_before_earlier_low_priority_ones(settings: Settings, site: str) -> None:
    one_at_a_time = settings.model_copy(update={"worker_concurrency": 1})
    async with running_stack(one_at_a_time, workers=0) as stack:
        low = [await stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": 2}) for _ in range(5)]
        high = await stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": 8})
        async with running_worker(one_at_a_time):
            for job in [*low, high]:
                await stack.wait_terminal(job["id"])
        started = {}
        for job in [*low, high]:
            events = await stack.wait_terminal(job["id"])
            started[job["id"]] = next(e["id"] for e in events if e["type"] == "started")
    order = sorted(started, key=lambda job_id: tuple(int(p) for p in started[job_id].split("-")))
    assert order[0] == high["id"]
    assert order[1:] == [job["id"] for job in low]  # and the low ones keep their order


async def test_low_priority_work_is_not_starved(settings: Settings, site: str) -> None:
    """A low-priority job that has waited longer than the priority span goes first."""
    aging = settings.model_copy(update={"worker_concurrency": 1, "priority_step_s": 0.05})
    async with running_stack(aging, workers=0) as stack:
        low = await stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": 1})
        await asyncio.sleep(0.6)  # longer than (9 - 1) steps
        high = await stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": 9})
        async with running_worker(aging):
            low_events = await stack.wait_terminal(low["id"])
            high_events = await stack.wait_terminal(high["id"])
    assert low_events[-1]["id"] < high_events[1]["id"]


async def test_delay_s_keeps_a_job_scheduled_until_its_time(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 1.5})
    assert job["status"] == "scheduled"
    record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == "scheduled"
    events = await stack.wait_terminal(job["id"])
    queued, started = events[0], next(e for e in events if e["type"] == "started")
    assert "run_at" in queued["data"]
    # Not before its time. How soon after it starts is a speed figure: bench/pickup.py prints it.
    assert started["data"]["ts"] - queued["data"]["ts"] >= 1_500


async def test_run_at_in_iso_8601(stack: Stack, site: str) -> None:
    run_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "run_at": run_at})
    assert job["status"] == "scheduled"
    events = await stack.wait_terminal(job["id"])
    started = next(e for e in events if e["type"] == "started")
    assert started["data"]["ts"] >= int(datetime.fromisoformat(run_at).timestamp() * 1000)
    both = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain", "delay_s": 1,
                                                  "run_at": run_at})
    assert both.status_code == 422


async def test_cancel_a_scheduled_job(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 1})
    assert (await stack.client.delete(f"/jobs/{job['id']}")).status_code == 202
    await asyncio.sleep(1.5)
    events = await stack.wait_terminal(job["id"])
    assert [e["type"] for e in events] == ["queued", "cancelled"]


async def test_idempotency_key_returns_the_same_job(stack: Stack, site: str) -> None:
    body = {"type": "scrape", "url": f"{site}/plain"}
    headers = {"Idempotency-Key": key()}
    first = await stack.client.post("/jobs", json=body, headers=headers)
    again = await stack.client.post("/jobs", json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = await stack.client.post("/jobs", json={**body, "formats": ["links"]}, headers=headers)
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_conflict"
    listed = (await stack.client.get("/jobs")).json()["jobs"]
    assert [j["id"] for j in listed] == [first.json()["id"]]


async def test_max_age_s_reuses_a_recent_result_without_fetching(stack: Stack, site: str) -> None:
    url = f"{site}/counted?key={key()}"
    counter = url.split("key=")[1]
    first = await stack.submit({"type": "scrape", "url": url})
    await stack.wait_terminal(first["id"])
    assert HITS[counter] == 1
    second = await stack.submit({"type": "scrape", "url": url, "max_age_s": 600})
    events = await stack.wait_terminal(second["id"])
    assert events[-1]["type"] == "completed" and events[-1]["data"]["summary"]["cached"] is True
    assert HITS[counter] == 1  # not fetched again
    result = (await stack.client.get(f"/jobs/{second['id']}/result")).json()
    original = (await stack.client.get(f"/jobs/{first['id']}/result")).json()
    assert result["cached"] is True and original["cached"] is False
    assert result["title"] == original["title"]
    # Other options are another result; a tiny max_age_s wants a fresh one.
    other = await stack.submit({"type": "scrape", "url": url, "max_age_s": 600, "formats": ["links"]})
    await stack.wait_terminal(other["id"])
    await asyncio.sleep(1.1)
    stale = await stack.submit({"type": "scrape", "url": url, "max_age_s": 1})
    await stack.wait_terminal(stale["id"])
    assert HITS[counter] == 3


async def test_failed_jobs_are_listed_with_their_errors_and_can_be_rerun(stack: Stack, site: str) -> None:
    flaky_key = key()
    ok = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    bad = await stack.submit({"type": "scrape", "url": f"{site}/flaky?key={flaky_key}&fail=1", "max_attempts": 1})
    await stack.wait_terminal(ok["id"])
    first_run = await stack.wait_terminal(bad["id"])
    assert first_run[-1]["type"] == "failed"
    failed = (await stack.client.get("/jobs", params={"status": "failed"})).json()["jobs"]
    assert [j["id"] for j in failed] == [bad["id"]]
    assert failed[0]["error"]["code"] == "http_status"

    assert (await stack.client.post(f"/jobs/{ok['id']}/retry")).status_code == 409
    rerun = await stack.client.post(f"/jobs/{bad['id']}/retry")
    assert rerun.status_code == 202 and rerun.json()["status"] == "queued"
    rest = [e async for e in _follow_after(stack, bad["id"], first_run[-1]["id"])]
    assert rest[0]["type"] == "queued" and rest[-1]["type"] == "completed"
    assert next(e for e in rest if e["type"] == "started")["data"]["attempt"] == 2
    record = (await stack.client.get(f"/jobs/{bad['id']}")).json()
    assert record["status"] == "completed" and record["attempt"] == 2 and record["error"] is None
    assert (await stack.client.get("/jobs", params={"status": "failed"})).json()["jobs"] == []


async def _follow_after(stack: Stack, job_id: str, last_id: str):  # type: ignore[no-untyped-def]
    from tests.support.sse import read_sse

    async for event in read_sse(stack.client, f"/jobs/{job_id}/events", headers={"Last-Event-ID": last_id}):
        yield event
