"""What expiry cannot clean: the index entries of expired jobs."""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.lifecycle.submit import QueueConfig
from jobs.worker.cleanup import cleanup_expired
from streams.keys import Keyspace
from streams.publish import StreamLimits
from tests.support.stack import Stack


async def test_cleanup_drops_index_entries_of_expired_jobs_only(stack: Stack, site: str, redis_url: str) -> None:
    kept = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    gone = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(kept["id"])
    await stack.wait_terminal(gone["id"])
    redis = Redis.from_url(redis_url)
    keys = Keyspace(stack.settings.key_prefix)
    try:
        # As if the retention period had passed for one of them.
        await redis.delete(keys.record(gone["id"]), keys.events(gone["id"]), keys.result(gone["id"]))
        await redis.zadd(keys.arq_abort(), {"never-ran": 1})
        done = await cleanup_expired(redis, QueueConfig(keys, StreamLimits(ttl_s=0)))
        assert done == {"index_entries": 1, "aborts": 1}
        listed = [m.decode() for m in await redis.zrange(keys.owner_jobs("public"), 0, -1)]
        assert listed == [kept["id"]]
        assert await redis.zcard(keys.arq_abort()) == 0
    finally:
        await redis.aclose()
