"""When a queued job starts: priorities as queue scores, and scheduled jobs.

arq takes due jobs in score order. A job's score is the time it became
runnable minus `priority * step`, so a priority-9 job starts before
priority-1 jobs that became runnable up to 8 steps earlier, and never later
than that: however busy the queue, low-priority work ages past new
high-priority work and is not starved.

A job with `delay_s` / `run_at` waits in a sorted set of its own (score = its
start time) and is promoted into arq's queue, with its priority score, once
due. Workers promote on every look at the queue and sleep no longer than
until the next start time, so it starts on time.
"""

from __future__ import annotations

from redis.asyncio import Redis

from jobs.queue.arq_layout import QUEUE_KEY
from streams.keys import Keyspace
from streams.lua import LuaScript

DEFAULT_PRIORITY = 5


def queue_score(runnable_at_ms: int, priority: int, step_ms: int) -> int:
    return runnable_at_ms - priority * step_ms


_PROMOTE = LuaScript(
    """
-- KEYS: scheduled set, arq queue; ARGV: now ms, priority step ms, key prefix, max
local due = redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", ARGV[1], "WITHSCORES", "LIMIT", 0, tonumber(ARGV[4]))
for i = 1, #due, 2 do
    local job_id, at = due[i], tonumber(due[i + 1])
    local priority = tonumber(redis.call("HGET", ARGV[3] .. ":job:{" .. job_id .. "}", "priority") or "5")
    redis.call("ZADD", KEYS[2], at - priority * tonumber(ARGV[2]), job_id)
    redis.call("ZREM", KEYS[1], job_id)
end
local nxt = redis.call("ZRANGE", KEYS[1], 0, 0, "WITHSCORES")
return {#due / 2, nxt[2] or false}
"""
)


async def promote_due(
    redis: Redis, keys: Keyspace, *, now_ms: int, step_ms: int, batch: int = 1_000
) -> tuple[int, int | None]:
    """Move due scheduled jobs into arq's queue; returns (how many, next start ms or None)."""
    moved, next_at = await _PROMOTE(redis, [keys.scheduled(), QUEUE_KEY], [now_ms, step_ms, keys.prefix, batch])
    return int(moved), int(float(next_at)) if next_at else None
