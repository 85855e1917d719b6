"""Live workers: each heartbeats into one sorted set; stale entries fall out."""

from __future__ import annotations

from redis.asyncio import Redis

from streams.events import now_ms
from streams.keys import Keyspace

HEARTBEAT_EVERY_S = 5.0
STALE_AFTER_MS = 20_000


def heartbeat_every_s(lease_s: float) -> float:
    """How often a worker heartbeats and renews its leases: every quarter of the lease (at most 5 s).

    Three renewals can go missing (a slow Redis, a busy loop) before a live
    worker's lease lapses; a dead worker's lapses within one lease.
    """
    return min(HEARTBEAT_EVERY_S, lease_s / 4)


async def heartbeat(redis: Redis, keys: Keyspace, worker_name: str, running: int = 0) -> None:
    now = now_ms()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(keys.workers(), {worker_name: now})
        pipe.zremrangebyscore(keys.workers(), "-inf", now - STALE_AFTER_MS)
        pipe.expire(keys.workers(), STALE_AFTER_MS // 1000 * 3)
        pipe.hset(keys.worker_load(), worker_name, str(running))
        pipe.expire(keys.worker_load(), STALE_AFTER_MS // 1000 * 3)
        await pipe.execute()


async def leave(redis: Redis, keys: Keyspace, worker_name: str) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zrem(keys.workers(), worker_name)
        pipe.hdel(keys.worker_load(), worker_name)
        await pipe.execute()


async def count_live_workers(redis: Redis, keys: Keyspace) -> int:
    count: int = await redis.zcount(keys.workers(), now_ms() - STALE_AFTER_MS, "+inf")
    return count
