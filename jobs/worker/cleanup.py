"""The cron job that cleans what key expiry cannot: index entries of expired jobs, stale aborts."""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.lifecycle.submit import QueueConfig
from streams.events import now_ms
from streams.keys import Keyspace

BATCH = 1_000
# An abort for a job that never ran (it was deleted from the queue) is kept this long, then dropped.
ABORT_MAX_AGE_MS = 3_600_000


async def prune_owner_index(redis: Redis, keys: Keyspace, index: str, older_than_ms: int) -> int:
    """Remove entries of jobs whose record expired; only entries old enough to have expired are checked."""
    removed = 0
    start = 0
    while True:
        ids = [m.decode() for m in await redis.zrangebyscore(index, "-inf", older_than_ms, start=start, num=BATCH)]
        if not ids:
            return removed
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(keys.record(job_id))
            alive = await pipe.execute()
        gone = [job_id for job_id, exists in zip(ids, alive, strict=True) if not exists]
        if gone:
            await redis.zrem(index, *gone)
            removed += len(gone)
        start += len(ids) - len(gone)


async def cleanup_expired(redis: Redis, queue: QueueConfig) -> dict[str, int]:
    keys = queue.keys
    cutoff = now_ms() - queue.limits.ttl_s * 1000
    removed = 0
    async for index in redis.scan_iter(match=keys.owner_jobs("*"), count=500):
        removed += await prune_owner_index(redis, keys, index.decode(), cutoff)
    aborts = await redis.zremrangebyscore(keys.arq_abort(), "-inf", now_ms() - ABORT_MAX_AGE_MS)
    return {"index_entries": removed, "aborts": int(aborts)}
