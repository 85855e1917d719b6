"""`GET /queue/history`: per-minute counts of jobs submitted, completed and failed, and the queue depth."""

from __future__ import annotations

from tests.support.stack import Stack


async def test_history_counts_what_was_submitted_completed_and_failed(stack: Stack, site: str) -> None:
    jobs = [await stack.submit({"type": "scrape", "url": f"{site}/plain?n={n}"}) for n in range(2)]
    jobs.append(await stack.submit({"type": "scrape", "url": f"{site}/status/404"}))
    for job in jobs:
        await stack.wait_terminal(job["id"])
    response = await stack.client.get("/queue/history?minutes=5")
    assert response.status_code == 200
    minutes = response.json()["minutes"]
    assert len(minutes) == 5
    assert [m["at"] for m in minutes] == sorted(m["at"] for m in minutes)
    assert sum(m["submitted"] for m in minutes) == 3
    assert sum(m["completed"] for m in minutes) == 2
    assert sum(m["failed"] for m in minutes) == 1
    # This minute's depth was sampled by the read itself: nothing waits now.
    assert minutes[-1]["depth"] == 0


async def test_history_bounds_its_minutes(stack: Stack) -> None:
    for bad in ("0", "121", "x"):
        response = await stack.client.get(f"/queue/history?minutes={bad}")
        assert response.status_code == 422 and response.json()["error"]["field"] == "minutes"
