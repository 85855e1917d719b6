"""A worker's lanes (the queues of its kinds, and the shared one) and its free slots shared fairly among them.

A worker that takes several kinds must not let a deep queue of one starve the
others: claiming in one queue's order first would hand every freed slot to
whatever has the longest backlog (a crawl queue), and a scrape would wait for
all of it. Free slots are dealt instead one at a time to the lane with the
fewest jobs running in this worker, counting what this look has dealt: each
lane tends to an equal share of the worker, and a lane with little work gives
what it cannot use to the others. Within a lane, the queue's own order holds
(priorities, `jobs.queue.scores`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from jobs.queue.claim import ClaimedJob, RunningCap, claim_jobs, record_id
from jobs.queue.kinds import JOB_KINDS
from jobs.store.records import kind_from_reply, queue_kind_read
from streams.keys import Keyspace

SHARED = "shared"
"""The lane of arq's own queue: webhook deliveries, the cron, and jobs an older version queued there."""

# Entries of the shared queue a burst worker reads the kind of, at most, when it asks whether any is its own.
_SHARED_LOOK = 4096


@dataclass(frozen=True, slots=True)
class Lane:
    """One queue a worker takes: a kind's, or the shared one."""

    name: str  # the kind, or SHARED
    queue: str
    # For the shared lane of a worker that does not take every kind: the job kinds it takes there
    # (entries without a record — deliveries, the cron — always). None: every entry.
    kinds: frozenset[str] | None = None


def worker_lanes(keys: Keyspace, kinds: Sequence[str]) -> tuple[Lane, ...]:
    """The lanes of a worker that takes `kinds`: the shared queue, then each kind's.

    The shared lane comes first, so it wins a tie: a webhook delivery is short and waited for, and a job
    an older version queued there is older than any job in a kind's queue.
    """
    every_kind = set(kinds) == set(JOB_KINDS)
    return (Lane(SHARED, keys.arq_queue(), None if every_kind else frozenset(kinds)),
            *(Lane(kind, keys.kind_queue(kind)) for kind in kinds))


def deal_slots(free: int, running: Mapping[str, int], lanes: Sequence[Lane]) -> dict[str, int]:
    """How many of `free` slots each lane gets: one at a time to the lane with the fewest running (ties: in
    lane order), so that the lanes tend to equal shares."""
    dealt = dict.fromkeys((lane.name for lane in lanes), 0)
    for _ in range(free):
        if not lanes:
            break
        fewest = min(lanes, key=lambda lane: running.get(lane.name, 0) + dealt[lane.name])
        dealt[fewest.name] += 1
    return dealt


async def claim_fairly(
    redis: Redis,
    lanes: Sequence[Lane],
    *,
    free: int,
    running: Mapping[str, int],
    now_ms: int,
    lease_ms: int,
    holder: str,
    cap: RunningCap,
    still_wanted: Callable[[], bool] = lambda: True,
    passes_over: Callable[[str], bool] = lambda _arq_id: False,
) -> list[ClaimedJob]:
    """Claim up to `free` jobs over `lanes`, dealt by `deal_slots` (`running`: this worker's jobs per lane);
    never those `passes_over` names (see `claim_jobs`).

    A lane that had fewer jobs to claim than it was dealt drops out, and what it left is dealt again
    among the others: at most one round per lane. One round trip first skips lanes with nothing due.
    """
    claimed: list[ClaimedJob] = []
    if free <= 0 or not lanes:
        return claimed
    async with redis.pipeline(transaction=False) as pipe:
        for lane in lanes:
            pipe.zcount(lane.queue, "-inf", now_ms)
        due = await pipe.execute()
    active = [lane for lane, count in zip(lanes, due, strict=True) if count]
    held = {lane.name: running.get(lane.name, 0) for lane in lanes}
    while active and len(claimed) < free and still_wanted():
        dealt = deal_slots(free - len(claimed), held, active)
        short = []
        for lane in sorted(active, key=lambda lane: held[lane.name]):
            if not dealt[lane.name]:
                continue
            got = await claim_jobs(redis, queue=lane.queue, free=dealt[lane.name], now_ms=now_ms,
                                   lease_ms=lease_ms, holder=holder, cap=cap, kinds=lane.kinds,
                                   still_wanted=still_wanted, passes_over=passes_over)
            claimed += got
            held[lane.name] += len(got)
            if len(got) < dealt[lane.name]:
                short.append(lane)
        if not short:
            break  # every lane took what it was dealt: the free slots are used
        active = [lane for lane in active if lane not in short]
    return claimed


async def waiting_in(redis: Redis, keys: Keyspace, lanes: Sequence[Lane]) -> int:
    """How many entries of `lanes` are this worker's to run (running, due or later): a burst worker's
    queue is empty at 0. In a shared lane with `kinds`, jobs of other kinds do not count."""
    async with redis.pipeline(transaction=False) as pipe:
        for lane in lanes:
            if lane.kinds is None:
                pipe.zcard(lane.queue)
            else:
                pipe.zrange(lane.queue, 0, _SHARED_LOOK - 1)
        replies = await pipe.execute()
    total = 0
    for lane, reply in zip(lanes, replies, strict=True):
        if lane.kinds is None:
            total += int(reply)
            continue
        ids = [member.decode() for member in reply]
        async with redis.pipeline(transaction=False) as pipe:
            for arq_id in ids:
                queue_kind_read(pipe, keys, record_id(arq_id))
            kinds = [kind_from_reply(kind) for kind in await pipe.execute()] if ids else []
        total += sum(kind is None or kind in lane.kinds for kind in kinds)
    return total
