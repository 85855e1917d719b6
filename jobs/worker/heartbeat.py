"""Live workers: each heartbeats into one sorted set (stale entries fall out) and describes itself.

Beside its heartbeat time, a worker writes a card (JSON, one field per worker
of one hash that expires with the set): its host, pid, start time, the job
kinds it takes and how many jobs it has finished. What it runs is read from the leases instead
(`jobs.queue.stats`): the claim writes them the moment a job starts, while a
card is up to a heartbeat old.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
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


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class WorkerCard:
    """What a worker says about itself with each heartbeat."""

    name: str
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: str = field(default_factory=lambda: _iso(now_ms()))
    kinds: list[str] = field(default_factory=list)
    finished: int = 0

    def to_json(self) -> str:
        return orjson.dumps({"host": self.host, "pid": self.pid, "started_at": self.started_at,
                             "kinds": self.kinds, "finished": self.finished}).decode()


async def heartbeat(redis: Redis, keys: Keyspace, card: WorkerCard) -> None:
    now = now_ms()
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(keys.workers(), {card.name: now})
        pipe.zremrangebyscore(keys.workers(), "-inf", now - STALE_AFTER_MS)
        pipe.expire(keys.workers(), STALE_AFTER_MS // 1000 * 3)
        pipe.hset(keys.worker_load(), card.name, card.to_json())
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


def _card(raw: bytes | None) -> dict[str, Any]:
    """A worker's card as written; {} for none (or a worker from before cards, which wrote a bare count)."""
    try:
        card = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError:
        return {}
    return card if isinstance(card, dict) else {}


async def live_workers(redis: Redis, keys: Keyspace) -> list[dict[str, Any]]:
    """Each live worker, in order of its start: name, host, pid, started_at, last_heartbeat, kinds, finished.

    `kinds` is None for a worker from before pools per kind (it took every kind).
    """
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrangebyscore(keys.workers(), now_ms() - STALE_AFTER_MS, "+inf", withscores=True)
        pipe.hgetall(keys.worker_load())
        live, cards = await pipe.execute()
    workers = []
    for name, beat in live:
        card = _card(cards.get(name))
        workers.append({
            "name": name.decode(), "host": card.get("host"), "pid": card.get("pid"),
            "started_at": card.get("started_at"), "last_heartbeat": _iso(int(beat)),
            "kinds": card.get("kinds"), "finished": card.get("finished", 0),
        })
    workers.sort(key=lambda worker: (worker["started_at"] or "", worker["name"]))
    return workers
