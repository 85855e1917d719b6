"""History that is gone (trimmed) is announced with `resync`, never skipped silently."""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.settings import Settings
from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event
from tests.support.sse import read_sse
from tests.support.stack import running_stack


async def test_resuming_from_a_trimmed_id_gets_resync_with_the_record(settings: Settings, site: str) -> None:
    capped = settings.model_copy(update={"stream_maxlen": 100})
    async with running_stack(capped, workers=0) as stack:
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        keys = Keyspace(capped.key_prefix)
        redis = Redis.from_url(capped.redis_url)
        try:
            first = (await redis.xrange(keys.events(job["id"]), count=1))[0][0].decode()
            limits = StreamLimits(maxlen=100, ttl_s=600)
            for n in range(1_000):
                await append_event(redis, keys.events(job["id"]), keys.record(job["id"]), "progress",
                                   {"phase": "fetch", "percent": n % 100, "message": "m"}, limits=limits)
            await append_event(redis, keys.events(job["id"]), keys.record(job["id"]), "completed",
                               {"summary": {}, "result_url": ""}, state={"status": "completed"}, limits=limits)
        finally:
            await redis.aclose()
        path = f"/jobs/{job['id']}/events"
        resumed = [e async for e in read_sse(stack.client, path, headers={"Last-Event-ID": first})]
        assert resumed[0]["type"] == "resync" and resumed[0]["id"] is None
        assert resumed[0]["data"]["record"]["id"] == job["id"]
        assert resumed[-1]["type"] == "completed"
        from_start = [e async for e in read_sse(stack.client, path)]
        assert from_start[0]["type"] == "resync"  # the `queued` event was trimmed away
        # Resuming from an id still in the stream needs no resync.
        recent = from_start[-5]["id"]
        tail = [e async for e in read_sse(stack.client, path, headers={"Last-Event-ID": recent})]
        assert tail[0]["type"] != "resync" and len(tail) == 4
