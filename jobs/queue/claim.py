"""Claiming queued arq jobs for this worker: many at once, in one round trip.

arq's `Worker.start_jobs` claims one job per WATCH/EXISTS/ZSCORE/MULTI/EXEC
(four round trips). This script makes the same decision for a whole batch,
atomically: a job is claimed if no one holds its in-progress key and its score
says it is due; claiming sets the in-progress key arq expects.

It also enforces the per-key cap on running jobs (MAX_RUNNING_PER_KEY): a job
whose owner already runs that many stays queued, and is claimed once one of
them ends (the worker that ends it wakes the others). The script receives
every key through KEYS (as a Redis Cluster needs), so with a cap the owners
are read first: one more round trip, pipelined for the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from jobs.store.records import job_owners
from streams.keys import Keyspace
from streams.lua import LuaScript

_CLAIM = LuaScript(
    """
-- KEYS: queue, the in-progress key of each job, then the running sets of their owners
-- ARGV: now ms, in-progress ttl ms, cap, stale before ms, then per job: its id and the KEYS index
--       of its owner's running set (0: not capped)
local now, cap, stale = tonumber(ARGV[1]), tonumber(ARGV[3]), ARGV[4]
local claimed = {}
for j = 1, (#ARGV - 4) / 2 do
    local job_id, running_at = ARGV[3 + 2 * j], tonumber(ARGV[4 + 2 * j])
    local in_progress = KEYS[1 + j]
    local score = redis.call("ZSCORE", KEYS[1], job_id)
    if score and tonumber(score) <= now and redis.call("EXISTS", in_progress) == 0 then
        local allowed = true
        if running_at > 0 then
            local running = KEYS[running_at]
            redis.call("ZREMRANGEBYSCORE", running, "-inf", stale)
            if redis.call("ZSCORE", running, job_id) == false and redis.call("ZCARD", running) >= cap then
                allowed = false
            else
                redis.call("ZADD", running, now, job_id)
                redis.call("PEXPIRE", running, ARGV[2])
            end
        end
        if allowed then
            redis.call("PSETEX", in_progress, ARGV[2], "1")
            claimed[#claimed + 1] = job_id
            claimed[#claimed + 1] = score
        end
    end
end
return claimed
"""
)


@dataclass(frozen=True, slots=True)
class RunningCap:
    """At most `per_owner` jobs of one owner run at once (0: no cap)."""

    keys: Keyspace
    per_owner: int
    # A running entry older than this is a worker that died: it no longer counts.
    stale_after_ms: int

    async def release(self, redis: Redis, owner: str, job_id: str) -> None:
        if self.per_owner > 0:
            async with redis.pipeline(transaction=False) as pipe:
                pipe.zrem(self.keys.running(owner), job_id)
                pipe.publish(self.keys.wake_channel(), b"slot")
                await pipe.execute()


async def claim_jobs(
    redis: Redis,
    job_ids: list[str],
    *,
    now_ms: int,
    in_progress_ms: int,
    cap: RunningCap,
) -> list[tuple[str, int]]:
    """Claim what can be claimed of `job_ids`; returns (job id, score) of each claimed job."""
    if not job_ids:
        return []
    keys = cap.keys
    # A re-run's arq id is "<job id>.<n>": its record is the job's. A webhook delivery
    # ("wh-...") has no record, hence no owner, and is never capped.
    owners = await job_owners(redis, keys, [job_id.split(".", 1)[0] for job_id in job_ids]) \
        if cap.per_owner > 0 else [None] * len(job_ids)
    running: list[str] = []
    args: list[str | int] = [now_ms, in_progress_ms, cap.per_owner, now_ms - cap.stale_after_ms]
    for job_id, owner in zip(job_ids, owners, strict=True):
        running_at = 0
        if owner is not None:
            running.append(keys.running(owner))
            running_at = 1 + len(job_ids) + len(running)
        args.extend((job_id, running_at))
    flat = await _CLAIM(redis, [keys.arq_queue(), *(keys.arq_in_progress(job_id) for job_id in job_ids), *running],
                        args)
    pairs = zip(flat[::2], flat[1::2], strict=True)
    return [(job_id.decode(), int(float(score))) for job_id, score in pairs]
