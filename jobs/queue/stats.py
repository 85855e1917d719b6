"""What `GET /queue`, `GET /workers` and `/metrics` report: waiting by priority, running, scheduled, ended.

arq keeps a running job in `arq:queue` until it ends, so the queue's size is
not the number of waiting jobs. An entry is running while its in-progress key
(the lease, `<fence>@<worker>`, written by the claim the moment the job
starts) exists; the rest wait: due ones are queued, later ones wait out a
retry delay. So a job counts as running, and no longer as queued, from its
claim on, not from its worker's next heartbeat, and the lease names the
worker that runs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from jobs.queue.claim import record_id
from jobs.queue.payloads import INVALID_PAYLOADS_FIELD
from jobs.store.records import priority_from_reply, queue_priority_read
from jobs.worker.heartbeat import STALE_AFTER_MS
from streams.events import now_ms
from streams.keys import Keyspace

# Entries of arq:queue looked at (lease and priority each), at most; past this many, the breakdown
# is of the first ones in queue order (running jobs are among them) and the rest count as queued.
QUEUE_SAMPLE = 10_000
WEBHOOK_PREFIX = "wh-"


@dataclass(frozen=True, slots=True)
class QueueEntry:
    arq_id: str
    due: bool
    # The worker holding the entry's lease (running); None while it waits. "" for a lease that names none.
    holder: str | None
    # The job's priority; None for an entry without a job record (a webhook delivery, the cleanup cron).
    priority: int | None

    @property
    def job_id(self) -> str:
        return record_id(self.arq_id)

    @property
    def is_job(self) -> bool:
        return self.priority is not None

    @property
    def is_webhook(self) -> bool:
        return self.arq_id.startswith(WEBHOOK_PREFIX)


def _holder(lease: bytes | None) -> str | None:
    if lease is None:
        return None
    _fence, _, holder = lease.decode(errors="replace").partition("@")
    return holder


async def read_queue(redis: Redis, keys: Keyspace, *, sample: int = QUEUE_SAMPLE) -> tuple[int, list[QueueEntry]]:
    """How many entries of arq's queue lie past the first `sample`, and those first ones with their
    lease and priority (two round trips)."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.arq_queue())
        pipe.zrange(keys.arq_queue(), 0, sample - 1, withscores=True)
        total, listed = await pipe.execute()
    ids = [member.decode() for member, _ in listed]
    async with redis.pipeline(transaction=False) as pipe:
        for arq_id in ids:
            pipe.get(keys.arq_in_progress(arq_id))
            queue_priority_read(pipe, keys, record_id(arq_id))
            # Still queued? A job that ended between the two reads lost its lease and its entry
            # together (one script): without this it would count as waiting.
            pipe.zscore(keys.arq_queue(), arq_id)
        replies = await pipe.execute() if ids else []
    now = now_ms()
    entries = [
        QueueEntry(arq_id, due=score <= now, holder=_holder(lease),
                   priority=None if arq_id.startswith(WEBHOOK_PREFIX) else priority_from_reply(priority))
        for arq_id, (_, score), lease, priority, still in zip(
            ids, listed, replies[::3], replies[1::3], replies[2::3], strict=True)
        if still is not None
    ]
    return max(0, int(total) - len(ids)), entries


async def queue_stats(redis: Redis, keys: Keyspace) -> dict[str, Any]:
    unsampled, entries = await read_queue(redis, keys)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.scheduled())
        pipe.hgetall(keys.stats())
        pipe.zcount(keys.workers(), now_ms() - STALE_AFTER_MS, "+inf")
        scheduled, ended, live = await pipe.execute()
    by_priority = {str(p): 0 for p in range(1, 10)}
    running = retrying = webhooks = 0
    for entry in entries:
        if entry.holder is not None:
            running += entry.is_job
        elif entry.is_webhook:
            webhooks += 1
        elif entry.priority is not None:
            if entry.due:
                by_priority[str(entry.priority)] = by_priority.get(str(entry.priority), 0) + 1
            else:
                retrying += 1
    return {
        "queued": {"total": sum(by_priority.values()) + unsampled, "by_priority": by_priority,
                   "webhooks": webhooks, "sampled": unsampled > 0},
        "scheduled": int(scheduled),
        "retrying": retrying,
        "running": running,
        "completed": int(ended.get(b"completed", 0)),
        "failed": int(ended.get(b"failed", 0)),
        "cancelled": int(ended.get(b"cancelled", 0)),
        "invalid_payloads": int(ended.get(INVALID_PAYLOADS_FIELD.encode(), 0)),
        "workers": int(live),
    }
