"""`/health` tells the truth; a Redis outage is a 503 (a 200 "come back" to SSE followers) and the app recovers."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from jobs.settings import Settings
from tests.support.gated_site import gated_site
from tests.support.redis_server import RedisServer
from tests.support.sse import read_sse
from tests.support.stack import Stack, running_stack


async def test_health_counts_live_workers(stack: Stack, site: str) -> None:
    # Right after start the worker may not have beaten yet; one that has run a job has
    # (its heartbeat task starts before its first poll). Under load this raced.
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(job["id"])
    body = (await stack.client.get("/health")).json()
    assert body == {"status": "ok", "redis": "ok", "workers": 1}


async def test_redis_outage_is_a_503_and_the_app_recovers(settings: Settings, site: str) -> None:
    own = RedisServer().start()
    try:
        async with running_stack(settings.model_copy(update={"redis_url": own.url}), workers=0) as stack:
            assert (await stack.client.get("/health")).status_code == 200
            own.stop()
            health = await stack.client.get("/health")
            assert health.status_code == 503
            assert health.json()["redis"] == "unreachable"
            submit = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"})
            assert submit.status_code == 503
            assert submit.json()["error"]["code"] == "redis_unavailable"
            assert submit.headers["retry-after"] == "2"
            own.process = None
            own.start()  # same port, empty data: the app reconnects by itself
            assert (await stack.client.get("/health")).status_code == 200
            again = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"})
            assert again.status_code == 202
    finally:
        own.cleanup()


async def test_during_a_redis_outage_sse_followers_are_told_to_come_back_and_json_gets_a_503(
    settings: Settings,
) -> None:
    """EventSource stops for good on any status but 200: the SSE form answers 200 + `retry:` and closes.

    A follower mid-stream sees its response end (a 200 that ends: EventSource
    reconnects); its reconnects during the outage get only the hint, the same for
    any job id (nothing leaks while access cannot be checked); once Redis is back
    it resumes after its last id and gets every event once.
    """
    own = RedisServer(appendonly=True).start()
    try:
        configured = settings.model_copy(update={
            "redis_url": own.url, "sse_retry_ms": 300, "worker_lease_s": 30, "fetch_timeout_s": 60,
        })
        with gated_site() as (page_url, gate):
            async with running_stack(configured) as stack:
                job = await stack.submit({"type": "scrape", "url": page_url})
                events_path = f"/jobs/{job['id']}/events"
                before: list[dict[str, Any]] = []
                async for event in read_sse(stack.client, events_path):
                    before.append(event)
                    if event["type"] == "progress" and event["data"]["phase"] == "fetch":
                        own.stop()  # the worker is now waiting for the gated page
                # The stream ended with Redis; no terminal event was seen.
                assert [event["type"] for event in before][-1] == "progress"
                last_id = before[-1]["id"]

                come_back = await stack.client.get(events_path, headers={"Last-Event-ID": last_id})
                assert come_back.status_code == 200
                assert come_back.headers["content-type"].startswith("text/event-stream")
                assert [line for line in come_back.text.splitlines() if not line.startswith(":")] == [
                    "retry: 300", "",
                ]
                unknown = await stack.client.get(f"/jobs/{'0' * 32}/events")
                assert (unknown.status_code, unknown.text) == (200, come_back.text)

                as_json = await stack.client.get(events_path, headers={"Accept": "application/json"})
                assert as_json.status_code == 503
                assert as_json.headers["retry-after"] == "2"
                assert as_json.json()["error"]["code"] == "redis_unavailable"
                assert (await stack.client.get(events_path, params={"format": "json"})).status_code == 503

                own.start()  # same port, same directory: the AOF brings the job back
                gate.open()
                after = [event async for event in read_sse(
                    stack.client, events_path, headers={"Last-Event-ID": last_id})]
                assert after[-1]["type"] == "completed"
                assert (await stack.client.get(f"/jobs/{'0' * 32}/events")).status_code == 404
                async with Redis.from_url(own.url) as redis:
                    stored = await redis.xrange(stack.state.keys.events(job["id"]))
                assert [event["id"] for event in before + after] == [entry_id.decode() for entry_id, _ in stored]
    finally:
        own.cleanup()
