"""Claiming queued arq jobs for this worker: every free slot at once, past the jobs running elsewhere.

arq keeps a running job in its queue until the job ends, so the front of the
due part of the queue is mostly jobs that other workers (or this one) run.
Cutting a listing to the free slots first, and leaving out the running jobs
after, left slots empty while jobs further down waited. Here running jobs are
left out first:

1. the due part of the queue is listed in chunks (ZRANGEBYSCORE), and for each
   entry one pipelined round trip asks whether its in-progress key exists and,
   with a per-key cap, who owns it;
2. one script claims, among the entries no one runs, up to the free slots,
   atomically: a job is claimed if no one holds its in-progress key, its score
   says it is due, and its owner runs fewer than MAX_RUNNING_PER_KEY jobs.
   Claiming sets the in-progress key (the lease, naming its holder) and adds
   one to the record's fence, which every write of the attempt then carries.

Why not one script that scans the queue itself: a script must receive every
key it touches through KEYS (a Redis Cluster routes by them;
tests/streams/test_keyspace.py holds every script to it), and the keys of the
entries a scan finds are known only once they are listed. Listing, reading and
claiming are the same three round trips as before (listing, owners, claim).
A claim the script refuses (another worker was first, or the owner is at its
cap) moves on to the next entries, so racing workers fill their slots too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import NamedTuple

from redis.asyncio import Redis

from jobs.store.records import kind_from_reply, owner_from_reply, queue_kind_read, queue_owner_read
from streams.keys import Keyspace
from streams.lua import LuaScript
from streams.publish import Fence, ThenCommand, run_if_current

FENCE_FIELD = "fence"
"""The record field that counts the job's claims: the current attempt's fence."""

# Entries of the due part of the queue one claim looks at, at most. Those it
# skips are running jobs (no more than all workers' slots) and jobs of owners
# at their cap, whose backlog can be long: the bound keeps one look at the
# queue cheap however long that backlog is. A job behind it starts once the
# entries in front of it have started or ended.
SCAN_LIMIT = 4096
# The first chunk covers the running jobs in front in the common case; each next one doubles.
FIRST_CHUNK = 128

_CLAIM = LuaScript(
    """
-- KEYS: queue, then per candidate its in-progress key and its record, then the running sets of owners
-- ARGV: now ms, lease ms, cap, stale before ms, how many to claim, fence field, lease holder,
--       then per candidate: its id and the KEYS index of its owner's running set (0: not capped)
local now, cap, stale, wanted = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local claimed, capped, count = {}, {}, 0
for j = 1, (#ARGV - 7) / 2 do
    if count >= wanted then break end
    local job_id, running_at = ARGV[6 + 2 * j], tonumber(ARGV[7 + 2 * j])
    local in_progress, record = KEYS[2 * j], KEYS[2 * j + 1]
    local score = redis.call("ZSCORE", KEYS[1], job_id)
    if score and tonumber(score) <= now and redis.call("EXISTS", in_progress) == 0 then
        local allowed = true
        if running_at > 0 then
            local running = KEYS[running_at]
            redis.call("ZREMRANGEBYSCORE", running, "-inf", stale)
            if redis.call("ZSCORE", running, job_id) == false and redis.call("ZCARD", running) >= cap then
                allowed = false
                capped[#capped + 1] = j
            else
                redis.call("ZADD", running, now, job_id)
                redis.call("PEXPIRE", running, ARGV[2])
            end
        end
        if allowed then
            -- A webhook delivery or the cron has no record, hence no fence (0): never create one.
            local fence = 0
            if redis.call("EXISTS", record) == 1 then
                fence = redis.call("HINCRBY", record, ARGV[6], 1)
            end
            redis.call("PSETEX", in_progress, ARGV[2], string.format("%d@%s", fence, ARGV[7]))
            count = count + 1
            claimed[#claimed + 1] = job_id
            claimed[#claimed + 1] = score
            claimed[#claimed + 1] = fence
        end
    end
end
return {claimed, capped}
"""
)


def lease_value(holder: str, fence: int) -> str:
    """What a claim writes into the job's in-progress key: which claim holds the lease."""
    return f"{fence}@{holder}"


def record_id(arq_id: str) -> str:
    """The job whose record an arq job has: a re-run's arq id is `<job id>.<n>`."""
    return arq_id.split(".", 1)[0]


# A crawl part's arq id: `cp-<job id>-<n>` (jobs.kinds.crawl.part_id). A part has no record of its own
# (its claim must not touch the job's fence), so record_id leaves it as it is.
PART_PREFIX = "cp-"


def part_of(arq_id: str) -> str | None:
    """The crawl or batch whose part `arq_id` is; None for any other arq job."""
    if not arq_id.startswith(PART_PREFIX):
        return None
    return arq_id[len(PART_PREFIX):].rsplit("-", 1)[0]


class ClaimedJob(NamedTuple):
    job_id: str  # the arq job id
    score: int
    fence: int  # 0 for a job without a record (a webhook delivery, the cleanup cron)
    queue: str  # the queue it was claimed from: arq's end of the job (finish, retry) happens there


@dataclass(frozen=True, slots=True)
class RunningCap:
    """At most `per_owner` jobs of one owner run at once (0: no cap)."""

    keys: Keyspace
    per_owner: int
    # A running entry older than this is a worker that died: it no longer counts.
    stale_after_ms: int

    async def release(self, redis: Redis, owner: str, job_id: str, *, fence: int | None = None) -> None:
        """Free the job's running entry; with `fence`, only while that claim is the job's current one.

        A stalled attempt that a newer claim took over must not free the newer one's entry.
        """
        if self.per_owner > 0:
            job = record_id(job_id)
            await run_if_current(redis, self.keys.events(job), self.keys.record(job),
                                 None if fence is None else Fence(FENCE_FIELD, fence),
                                 [ThenCommand("ZREM", self.keys.running(owner), (job_id,)),
                                  ThenCommand("PUBLISH", None, (self.keys.wake_channel(), "slot"))])


@dataclass(frozen=True, slots=True)
class _Candidate:
    job_id: str
    owner: str | None  # None: not capped (no cap, or no record)


async def _not_running(redis: Redis, keys: Keyspace, queue: str, now_ms: int, *, read_owners: bool,
                       kinds: frozenset[str] | None) -> AsyncIterator[list[_Candidate]]:
    """The due entries of `queue` whose in-progress key is unset, chunk by chunk, in queue order; with
    `kinds`, only those without a record or of one of those kinds."""
    offset, size = 0, FIRST_CHUNK
    while offset < SCAN_LIMIT:
        raw: list[bytes] = await redis.zrangebyscore(queue, "-inf", now_ms, start=offset,
                                                     num=min(size, SCAN_LIMIT - offset))
        if not raw:
            return
        ids = [job_id.decode() for job_id in raw]
        async with redis.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(keys.arq_in_progress(job_id))
            for job_id in ids:
                if read_owners:
                    queue_owner_read(pipe, keys, record_id(job_id))
                if kinds is not None:
                    queue_kind_read(pipe, keys, record_id(job_id))
            replies = await pipe.execute()
        running, rest = replies[:len(ids)], iter(replies[len(ids):])
        chunk = []
        for job_id, busy in zip(ids, running, strict=True):
            owner = owner_from_reply(next(rest)) if read_owners else None
            kind = kind_from_reply(next(rest)) if kinds is not None else None
            if not busy and (kind is None or kinds is None or kind in kinds):
                chunk.append(_Candidate(job_id, owner))
        yield chunk
        if len(ids) < size:
            return
        offset += len(ids)
        size *= 2


async def claim_jobs(
    redis: Redis,
    *,
    queue: str,
    free: int,
    now_ms: int,
    lease_ms: int,
    holder: str,
    cap: RunningCap,
    kinds: frozenset[str] | None = None,
    still_wanted: Callable[[], bool] = lambda: True,
    passes_over: Callable[[str], bool] = lambda _arq_id: False,
) -> list[ClaimedJob]:
    """Claim up to `free` due jobs of `queue` that no one runs, in queue order; each with its score and fence.

    `kinds` (for the shared queue, which may hold jobs of any kind an older version queued there): claim
    only entries without a record (webhook deliveries, the cron) and jobs of these kinds; None: any.

    `holder` names the claimer in each lease (`lease_value`). `still_wanted` is asked before each
    claim script: a worker that starts draining while it looks further down the queue claims
    nothing more (a job submitted meanwhile is listed, as its priority score lies in the past).
    Entries `passes_over` names are left for other workers (a part of a crawl this worker already
    takes part in: it is there to bring another worker in).
    """
    claimed: list[ClaimedJob] = []
    if free <= 0:
        return claimed
    at_cap: set[str] = set()
    async for chunk in _not_running(redis, cap.keys, queue, now_ms, read_owners=cap.per_owner > 0, kinds=kinds):
        pending = [candidate for candidate in chunk if not passes_over(candidate.job_id)]
        while len(claimed) < free:
            pending = [candidate for candidate in pending if candidate.owner not in at_cap]
            if not pending or not still_wanted():
                break
            wanted = free - len(claimed)
            offer, pending = pending[:wanted], pending[wanted:]
            got, capped = await _claim(redis, queue, offer, wanted, now_ms=now_ms, lease_ms=lease_ms, holder=holder,
                                       cap=cap)
            claimed.extend(got)
            at_cap.update(owner for owner in capped if owner is not None)
        if len(claimed) >= free or not still_wanted():
            break
    return claimed


async def _claim(redis: Redis, queue: str, offer: list[_Candidate], wanted: int, *, now_ms: int, lease_ms: int,
                 holder: str, cap: RunningCap) -> tuple[list[ClaimedJob], list[str | None]]:
    """One claim script over `offer`: what it claimed, and the owners it found at their cap."""
    keys = cap.keys
    job_keys: list[str] = []
    running: dict[str, int] = {}  # owner -> KEYS index of its running set (1-based, as Lua counts)
    args: list[str | int] = [now_ms, lease_ms, cap.per_owner, now_ms - cap.stale_after_ms, wanted, FENCE_FIELD,
                             holder]
    for candidate in offer:
        job_keys += [keys.arq_in_progress(candidate.job_id), keys.record(record_id(candidate.job_id))]
    for candidate in offer:
        running_at = 0
        if candidate.owner is not None:
            running_at = running.setdefault(candidate.owner, 2 + len(job_keys) + len(running))
        args += [candidate.job_id, running_at]
    flat, capped = await _CLAIM(redis, [queue, *job_keys, *(keys.running(owner) for owner in running)],
                                args)
    got = [ClaimedJob(job_id.decode(), int(float(score)), int(fence), queue)
           for job_id, score, fence in zip(flat[::3], flat[1::3], flat[2::3], strict=True)]
    return got, [offer[index - 1].owner for index in capped]
