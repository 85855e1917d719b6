"""`/health` tells the truth, and a Redis outage is a clear 503 — the app comes back with Redis."""

from __future__ import annotations

from jobs.settings import Settings
from tests.support.redis_server import RedisServer
from tests.support.stack import Stack, running_stack


async def test_health_counts_live_workers(stack: Stack) -> None:
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
