"""A worker's leases: it renews, and ends, only the leases it still holds.

A claim (`jobs.queue.claim`) writes the job's in-progress key as the lease,
valued `<fence>@<worker>`, for WORKER_LEASE_S. A worker that stalls longer
(a VM pause, a partition, a blocked loop) comes back to find the lease gone,
or another claim's: `renew_leases` renews only the leases whose value is still
its own and names the others, which the worker stops without writing anything
more for them. `finish_held_job` is arq's end of a job (free the lease, drop
the queue entry, count the try) done only under the same condition: a stalled
worker ending its old run must not free the lease of the newer run, or drop
its queue entry.
"""

from __future__ import annotations

from collections.abc import Mapping

from arq.utils import to_ms
from redis.asyncio import Redis

from jobs.queue.claim import lease_value
from streams.keys import Keyspace
from streams.lua import LuaScript

_RENEW = LuaScript(
    """
-- KEYS: the in-progress key of each job the worker runs
-- ARGV: lease ms, then per key the value its claim wrote
-- Returns the positions (from 1) of the leases the worker no longer holds: gone, or another claim's.
local lapsed = {}
for i, key in ipairs(KEYS) do
    if redis.call("GET", key) == ARGV[i + 1] then
        redis.call("PEXPIRE", key, ARGV[1])
    else
        lapsed[#lapsed + 1] = i
    end
end
return lapsed
"""
)

_FINISH = LuaScript(
    """
-- KEYS: in-progress, retry, job, abort set, queue
-- ARGV: the lease value the worker's claim wrote, arq job id, finish ("1" | "0"),
--       keep in-progress ms ("": delete it), score increment ("": none)
-- arq's Worker.finish_job, only while the lease is the worker's own. Returns 1 if it ran, else 0.
if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[4] == "" then redis.call("DEL", KEYS[1]) else redis.call("PEXPIRE", KEYS[1], ARGV[4]) end
if ARGV[3] == "1" then
    redis.call("DEL", KEYS[2], KEYS[3])
    redis.call("ZREM", KEYS[4], ARGV[2])
    redis.call("ZREM", KEYS[5], ARGV[2])
elseif ARGV[5] ~= "" then
    redis.call("ZINCRBY", KEYS[5], ARGV[5], ARGV[2])
end
return 1
"""
)


async def renew_leases(redis: Redis, keys: Keyspace, holder: str, fences: Mapping[str, int],
                       lease_s: float) -> list[str]:
    """Extend the leases `holder` still holds (`fences`: arq job id -> its claim's fence); the jobs it lost."""
    job_ids = list(fences)
    if not job_ids:
        return []
    lapsed: list[int] = await _RENEW(
        redis, [keys.arq_in_progress(job_id) for job_id in job_ids],
        [int(lease_s * 1000), *(lease_value(holder, fences[job_id]) for job_id in job_ids)])
    return [job_ids[position - 1] for position in lapsed]


async def finish_held_job(redis: Redis, keys: Keyspace, job_id: str, queue: str, *, holder: str, fence: int,
                          finish: bool, incr_score: int | None, keep_in_progress: float | None) -> bool:
    """arq's `Worker.finish_job` without a result (the worker keeps none: keep_result 0), in the job's `queue`,
    done only while `holder`'s claim (`fence`) holds the lease; whether it was."""
    done = await _FINISH(
        redis, [keys.arq_in_progress(job_id), keys.arq_retry(job_id), keys.arq_job(job_id), keys.arq_abort(),
                queue],
        [lease_value(holder, fence), job_id, "1" if finish else "0",
         "" if keep_in_progress is None else to_ms(keep_in_progress), incr_score or ""])
    return bool(done)
