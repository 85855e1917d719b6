"""Per-key submission rate limit: GCRA, atomic on Redis (no fixed-window double bursts)."""

from __future__ import annotations

import math

from redis.asyncio import Redis

from streams.lua import LuaScript

# GCRA keeps one number per key, the theoretical arrival time (TAT) of the next
# request. Redis's own clock is used, so every web process agrees.
_GCRA = LuaScript(
    """
-- KEYS: tat key; ARGV: emission interval ms, tolerance ms
local now_parts = redis.call("TIME")
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call("GET", KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - tonumber(ARGV[2])
if now < allow_at then return allow_at - now end
local new_tat = tat + interval
redis.call("SET", KEYS[1], new_tat, "PX", new_tat - now + 1000)
return 0
"""
)


async def submission_wait_s(redis: Redis, key: str, *, per_minute: int, burst: int) -> int:
    """0 if a submission may go ahead now; else whole seconds to wait (for Retry-After)."""
    if per_minute <= 0:
        return 0
    interval_ms = 60_000 / per_minute
    wait_ms = await _GCRA(redis, [key], [interval_ms, interval_ms * max(burst - 1, 0)])
    return math.ceil(float(wait_ms) / 1000) if wait_ms else 0
