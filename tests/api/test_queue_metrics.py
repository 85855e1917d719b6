"""`GET /queue` and `GET /metrics`: what an operator watches."""

from __future__ import annotations

from jobs.settings import Settings
from tests.support.stack import Stack, running_stack, running_worker


async def test_queue_depth_by_priority_and_outcomes(settings: Settings, site: str) -> None:
    async with running_stack(settings, workers=0) as stack:
        queued = [await stack.submit({"type": "scrape", "url": f"{site}/plain", "priority": priority})
                  for priority in (2, 2, 8)]
        await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 3600})
        queue = (await stack.client.get("/queue")).json()
        assert queue["queued"]["total"] == 3
        assert queue["queued"]["by_priority"]["2"] == 2 and queue["queued"]["by_priority"]["8"] == 1
        assert queue["scheduled"] == 1 and queue["workers"] == 0
        bad = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
        cancelled = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        await stack.client.delete(f"/jobs/{cancelled['id']}")
        async with running_worker(settings):
            for job in [*queued, bad]:
                await stack.wait_terminal(job["id"])
            queue = (await stack.client.get("/queue")).json()
        assert queue["queued"]["total"] == 0
        assert queue["completed"] == 3 and queue["failed"] == 1 and queue["cancelled"] == 1
        assert queue["workers"] == 1


async def test_metrics_in_prometheus_text(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(job["id"])
    response = await stack.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'scrapestream_jobs_submitted_total{type="scrape"} 1.0' in text
    assert 'scrapestream_jobs_ended_total{status="completed"} 1.0' in text
    assert "scrapestream_sse_followers 0.0" in text
    assert "scrapestream_workers 1.0" in text


async def test_queue_needs_a_key_when_auth_is_required(settings: Settings) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True}), workers=0) as stack:
        assert (await stack.client.get("/queue")).status_code == 401
        assert (await stack.client.get("/metrics")).status_code == 200
