"""Claiming queued arq jobs for this worker: many at once, in one round trip.

arq's `Worker.start_jobs` claims one job per WATCH/EXISTS/ZSCORE/MULTI/EXEC
(four round trips). This script makes the same decision for a whole batch,
atomically: a job is claimed if no one holds its in-progress key and its score
says it is due; claiming sets the in-progress key arq expects.
"""

from __future__ import annotations

from redis.asyncio import Redis

from streams.lua import LuaScript

from .queue import QUEUE_KEY, arq_in_progress_key

_CLAIM = LuaScript(
    """
-- KEYS: queue; ARGV: now ms, in-progress ttl ms, in-progress key prefix, job id ...
local claimed = {}
for i = 4, #ARGV do
    local job_id = ARGV[i]
    local in_progress = ARGV[3] .. job_id
    local score = redis.call("ZSCORE", KEYS[1], job_id)
    if score and tonumber(score) <= tonumber(ARGV[1]) and redis.call("EXISTS", in_progress) == 0 then
        redis.call("PSETEX", in_progress, ARGV[2], "1")
        claimed[#claimed + 1] = job_id
        claimed[#claimed + 1] = score
    end
end
return claimed
"""
)

_PREFIX = arq_in_progress_key("")


async def claim_jobs(
    redis: Redis, job_ids: list[str], *, now_ms: int, in_progress_ms: int, queue_key: str = QUEUE_KEY
) -> list[tuple[str, int]]:
    """Claim what can be claimed of `job_ids`; returns (job id, score) of each claimed job."""
    if not job_ids:
        return []
    flat = await _CLAIM(redis, [queue_key], [now_ms, in_progress_ms, _PREFIX, *job_ids])
    pairs = zip(flat[::2], flat[1::2], strict=True)
    return [(job_id.decode(), int(float(score))) for job_id, score in pairs]
