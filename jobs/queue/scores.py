"""When a queued job starts: priorities as queue scores, and scheduled jobs.

arq takes due jobs in score order. A job's score is the time it became
runnable minus `priority * step`, so a priority-9 job starts before
priority-1 jobs that became runnable up to 8 steps earlier, and never later
than that: however busy the queue, low-priority work ages past new
high-priority work and is not starved.

Each kind has a queue of its own (`jobs.queue.kinds`): priorities order the
jobs of one kind. A job with `delay_s` / `run_at` waits in a sorted set of its
own (score = its start time) and is promoted into its kind's queue, with its
priority score, once due. Workers promote on every look at the queue and sleep no longer than
until the next start time, so it starts on time.
"""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.queue.kinds import JOB_KINDS, queue_of
from streams.keys import Keyspace
from streams.lua import LuaScript

# A record without a priority (written by hand, or before priorities) runs at the middle one.
DEFAULT_PRIORITY = 5


def queue_score(runnable_at_ms: int, priority: int, step_ms: int) -> int:
    return runnable_at_ms - priority * step_ms


_PROMOTE = LuaScript(
    """
-- KEYS: scheduled set, shared queue, then the queue of each kind (as ARGV names them), then the record of
--       each job to promote
-- ARGV: priority step ms, default priority, how many kinds, the kinds, then the job ids, in the order of
--       their records
local kinds = tonumber(ARGV[3])
local queue_of = {}
for i = 1, kinds do queue_of[ARGV[3 + i]] = KEYS[2 + i] end
local moved = 0
for k = 3 + kinds, #KEYS do
    local job_id = ARGV[k + 1]
    -- Another worker may have promoted it since it was read: the set decides, atomically.
    local at = redis.call("ZSCORE", KEYS[1], job_id)
    if at then
        local record = redis.call("HMGET", KEYS[k], "priority", "type")
        local priority = tonumber(record[1] or ARGV[2])
        -- Into its kind's queue; a record without a known kind into the shared one, which every worker takes.
        local queue = (record[2] and queue_of[record[2]]) or KEYS[2]
        redis.call("ZADD", queue, tonumber(at) - priority * tonumber(ARGV[1]), job_id)
        redis.call("ZREM", KEYS[1], job_id)
        moved = moved + 1
    end
end
local nxt = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
return {moved, nxt[2] or false}
"""
)


async def promote_due(
    redis: Redis, keys: Keyspace, *, now_ms: int, step_ms: int, batch: int = 1_000
) -> tuple[int, int | None]:
    """Move due scheduled jobs into their kind's queue; returns (how many, next start ms or None).

    Two steps when something is due: the due ids are read first, so that the
    script that moves them receives their records' keys through KEYS (as a
    Redis Cluster needs). Nothing due (the usual case) costs one round trip.
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(keys.scheduled(), "-inf", now_ms, start=0, num=batch)
        pipe.zrange(keys.scheduled(), 0, 0, withscores=True)
        due, first = await pipe.execute()
    if not due:
        return 0, int(first[0][1]) if first else None
    job_ids = [job_id.decode() for job_id in due]
    moved, next_at = await _PROMOTE(
        redis, [keys.scheduled(), keys.arq_queue(), *(queue_of(keys, kind) for kind in JOB_KINDS),
                *(keys.record(job_id) for job_id in job_ids)],
        [step_ms, DEFAULT_PRIORITY, len(JOB_KINDS), *JOB_KINDS, *job_ids],
    )
    return int(moved), int(float(next_at)) if next_at else None
