"""What `GET /queue`, `GET /workers` and `/metrics` report: waiting by priority and by kind, running, ended.

Jobs wait in one queue per kind, and deliveries, the cron and what an older
version queued in the shared one (`jobs.queue.kinds`): every number here is
over all of them. arq keeps a running job in its queue until it ends, so a
queue's size is not the number of waiting jobs. An entry is running while its in-progress key
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

from jobs.queue.claim import part_of, record_id
from jobs.queue.kinds import JOB_KINDS
from jobs.queue.payloads import INVALID_PAYLOADS_FIELD
from jobs.store.records import kind_from_reply, priority_from_reply, queue_kind_read, queue_priority_read
from jobs.worker.heartbeat import live_workers
from streams.events import now_ms
from streams.keys import Keyspace

# Entries of each queue looked at (lease and priority each), at most; past this many, the breakdown
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
    # The job's kind: its queue's, or (in the shared queue) its record's; None without a record.
    kind: str | None

    @property
    def job_id(self) -> str:
        """The job the entry works for: its own, or for a crawl part the crawl's."""
        return part_of(self.arq_id) or record_id(self.arq_id)

    @property
    def is_part(self) -> bool:
        """A part of a crawl or batch (jobs.kinds.crawl_part): work for a job, not a job of its own."""
        return part_of(self.arq_id) is not None

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


async def read_queue(redis: Redis, keys: Keyspace, *, sample: int = QUEUE_SAMPLE
                     ) -> tuple[dict[str | None, int], list[QueueEntry]]:
    """The first `sample` entries of every queue (each kind's, and the shared one) with their lease,
    priority and kind, and how many entries lie past them, by kind (None: the shared queue's); two
    round trips."""
    queues: list[tuple[str | None, str]] = [*((kind, keys.kind_queue(kind)) for kind in JOB_KINDS),
                                            (None, keys.arq_queue())]
    async with redis.pipeline(transaction=False) as pipe:
        for _kind, queue in queues:
            pipe.zcard(queue)
            pipe.zrange(queue, 0, sample - 1, withscores=True)
        replies = await pipe.execute()
    unsampled: dict[str | None, int] = {}
    listed: list[tuple[str | None, str, str, float]] = []  # kind of the queue, queue, arq id, score
    for (kind, queue), total, members in zip(queues, replies[::2], replies[1::2], strict=True):
        unsampled[kind] = max(0, int(total) - len(members))
        listed += [(kind, queue, member.decode(), score) for member, score in members]
    async with redis.pipeline(transaction=False) as pipe:
        for kind, queue, arq_id, _score in listed:
            pipe.get(keys.arq_in_progress(arq_id))
            queue_priority_read(pipe, keys, record_id(arq_id))
            if kind is None:
                # The shared queue holds jobs of any kind an older version queued there: their record says which.
                queue_kind_read(pipe, keys, record_id(arq_id))
            # Still queued? A job that ended between the two reads lost its lease and its entry
            # together (one script): without this it would count as waiting.
            pipe.zscore(queue, arq_id)
        read = iter(await pipe.execute() if listed else [])
    now = now_ms()
    entries = []
    for kind, _queue, arq_id, score in listed:
        lease, priority = next(read), next(read)
        entry_kind = kind_from_reply(next(read)) if kind is None else kind
        if next(read) is not None:
            entries.append(QueueEntry(
                arq_id, due=score <= now, holder=_holder(lease),
                priority=None if arq_id.startswith(WEBHOOK_PREFIX) else priority_from_reply(priority),
                kind=entry_kind))
    return unsampled, entries


def _per_kind() -> dict[str, dict[str, int]]:
    return {kind: {"queued": 0, "running": 0, "retrying": 0, "workers": 0} for kind in JOB_KINDS}


async def queue_stats(redis: Redis, keys: Keyspace) -> dict[str, Any]:
    unsampled, entries = await read_queue(redis, keys)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zcard(keys.scheduled())
        pipe.hgetall(keys.stats())
        scheduled, ended = await pipe.execute()
    workers = await live_workers(redis, keys)
    by_priority = {str(p): 0 for p in range(1, 10)}
    kinds = _per_kind()
    running = retrying = webhooks = 0
    for entry in entries:
        counts = kinds.get(entry.kind or "")
        if entry.holder is not None:
            running += entry.is_job
            if counts is not None and entry.is_job:
                counts["running"] += 1
        elif entry.is_webhook:
            webhooks += 1
        elif entry.priority is not None:
            if entry.due:
                by_priority[str(entry.priority)] = by_priority.get(str(entry.priority), 0) + 1
                if counts is not None:
                    counts["queued"] += 1
            else:
                retrying += 1
                if counts is not None:
                    counts["retrying"] += 1
    for kind, counts in kinds.items():
        counts["queued"] += unsampled.get(kind, 0)
        # A worker from before pools per kind names none: it took every kind.
        counts["workers"] = sum(worker["kinds"] is None or kind in worker["kinds"] for worker in workers)
    past_sample = sum(unsampled.values())
    return {
        "queued": {"total": sum(by_priority.values()) + past_sample, "by_priority": by_priority,
                   "webhooks": webhooks, "sampled": past_sample > 0},
        "kinds": kinds,
        "scheduled": int(scheduled),
        "retrying": retrying,
        "running": running,
        "completed": int(ended.get(b"completed", 0)),
        "failed": int(ended.get(b"failed", 0)),
        "cancelled": int(ended.get(b"cancelled", 0)),
        "invalid_payloads": int(ended.get(INVALID_PAYLOADS_FIELD.encode(), 0)),
        "workers": len(workers),
    }
