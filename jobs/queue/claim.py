"""Claiming queued arq jobs for this worker: many at once, in one round trip.

arq's `Worker.start_jobs` claims one job per WATCH/EXISTS/ZSCORE/MULTI/EXEC
(four round trips). This script makes the same decision for a whole batch,
atomically: a job is claimed if no one holds its in-progress key and its score
says it is due; claiming sets the in-progress key arq expects.

It also enforces the per-key cap on running jobs (MAX_RUNNING_PER_KEY): a job
whose owner already runs that many stays queued, and is claimed once one of
them ends (the worker that ends it wakes the others).
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from jobs.queue.arq_layout import QUEUE_KEY, arq_in_progress_key
from streams.keys import Keyspace
from streams.lua import LuaScript

_CLAIM = LuaScript(
    """
-- KEYS: queue
-- ARGV: now ms, in-progress ttl ms, in-progress prefix, cap, stale before ms, key prefix, job id ...
local now, cap, stale = tonumber(ARGV[1]), tonumber(ARGV[4]), ARGV[5]
local claimed = {}
for i = 7, #ARGV do
    local job_id = ARGV[i]
    local in_progress = ARGV[3] .. job_id
    local score = redis.call("ZSCORE", KEYS[1], job_id)
    if score and tonumber(score) <= now and redis.call("EXISTS", in_progress) == 0 then
        local allowed = true
        if cap > 0 then
            -- A re-run's arq id is "<job id>.<n>": its record is the job's.
            local record = ARGV[6] .. ":job:{" .. string.match(job_id, "^[^.]+") .. "}"
            local owner = redis.call("HGET", record, "owner")
            if owner then
                local running = ARGV[6] .. ":running:" .. owner
                redis.call("ZREMRANGEBYSCORE", running, "-inf", stale)
                if redis.call("ZSCORE", running, job_id) == false and redis.call("ZCARD", running) >= cap then
                    allowed = false
                else
                    redis.call("ZADD", running, now, job_id)
                    redis.call("PEXPIRE", running, ARGV[2])
                end
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

_PREFIX = arq_in_progress_key("")


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
    queue_key: str = QUEUE_KEY,
) -> list[tuple[str, int]]:
    """Claim what can be claimed of `job_ids`; returns (job id, score) of each claimed job."""
    if not job_ids:
        return []
    args = [now_ms, in_progress_ms, _PREFIX, cap.per_owner, now_ms - cap.stale_after_ms, cap.keys.prefix]
    flat = await _CLAIM(redis, [queue_key], [*args, *job_ids])
    pairs = zip(flat[::2], flat[1::2], strict=True)
    return [(job_id.decode(), int(float(score))) for job_id, score in pairs]
