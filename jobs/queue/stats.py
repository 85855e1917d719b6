"""What `GET /queue` and `/metrics` report: depth by priority, scheduled, running, ended, workers."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from jobs.queue.payloads import INVALID_PAYLOADS_FIELD
from jobs.store.records import job_priorities
from jobs.worker.heartbeat import STALE_AFTER_MS
from streams.events import now_ms
from streams.keys import Keyspace

# The priority of queued jobs is read from their records; past this many, the
# breakdown is of the oldest ones (the total is exact).
PRIORITY_SAMPLE = 10_000


async def queue_stats(redis: Redis, keys: Keyspace) -> dict[str, Any]:
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.arq_queue())
        pipe.zrange(keys.arq_queue(), 0, PRIORITY_SAMPLE - 1)
        pipe.zcard(keys.scheduled())
        pipe.hgetall(keys.stats())
        pipe.zrangebyscore(keys.workers(), now_ms() - STALE_AFTER_MS, "+inf")
        pipe.hgetall(keys.worker_load())
        total, sample, scheduled, ended, live, load = await pipe.execute()
    job_ids = [member.decode() for member in sample if not member.startswith(b"wh-")]
    # A re-run's arq id is "<job id>.<n>".
    priorities = await job_priorities(redis, keys, [job_id.split(".", 1)[0] for job_id in job_ids])
    by_priority = {str(p): 0 for p in range(1, 10)}
    for priority in priorities:
        if priority is not None:
            by_priority[str(priority)] = by_priority.get(str(priority), 0) + 1
    live_names = {name for name in live}
    return {
        "queued": {"total": int(total), "by_priority": by_priority, "webhooks": len(sample) - len(job_ids),
                   "sampled": int(total) > PRIORITY_SAMPLE},
        "scheduled": int(scheduled),
        "running": sum(int(count) for name, count in load.items() if name in live_names),
        "completed": int(ended.get(b"completed", 0)),
        "failed": int(ended.get(b"failed", 0)),
        "cancelled": int(ended.get(b"cancelled", 0)),
        "invalid_payloads": int(ended.get(INVALID_PAYLOADS_FIELD.encode(), 0)),
        "workers": len(live_names),
    }
