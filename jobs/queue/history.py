"""Throughput over time (`GET /queue/history`): per-minute counters of jobs submitted, completed and failed.

Each minute is one hash (`Keyspace.history`), expiring after two hours. The
counts are HINCRBYs that ride in the scripts that already write the job's
`queued` and terminal events (`count_commands`), so they cost no round trip
and are never counted for a write that did not happen (a fenced-off attempt).
The queue depth is a sample: whoever reads the queue numbers anyway (the
history read, the activity stream's `queue` event) writes it into its minute.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from streams.events import now_ms
from streams.keys import Keyspace
from streams.publish import ThenCommand

HISTORY_TTL_S = 2 * 3600
MAX_MINUTES = HISTORY_TTL_S // 60
COUNTED = ("submitted", "completed", "failed")


def minute_of(ms: int) -> int:
    """The epoch minute a wall-clock time (ms) falls in."""
    return ms // 60_000


def count_commands(keys: Keyspace, counter: str, *, at_ms: int | None = None) -> list[ThenCommand]:
    """The commands counting one job under `counter` in its minute's hash, for a publishing script."""
    key = keys.history(minute_of(now_ms() if at_ms is None else at_ms))
    return [ThenCommand("HINCRBY", key, (counter, 1)), ThenCommand("EXPIRE", key, (HISTORY_TTL_S,))]


async def record_depth(redis: Redis, keys: Keyspace, depth: int) -> None:
    """Note the queue depth seen now in this minute's hash (the latest sample wins)."""
    key = keys.history(minute_of(now_ms()))
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hset(key, "depth", str(depth))
        pipe.expire(key, HISTORY_TTL_S)
        await pipe.execute()


async def read_history(redis: Redis, keys: Keyspace, minutes: int) -> list[dict[str, Any]]:
    """The last `minutes` minutes, oldest first (the current one last); `depth` is None where none was seen."""
    current = minute_of(now_ms())
    wanted = range(current - minutes + 1, current + 1)
    async with redis.pipeline(transaction=False) as pipe:
        for minute in wanted:
            pipe.hgetall(keys.history(minute))
        replies = cast(list[dict[bytes, bytes]], await cast(Awaitable[Any], pipe.execute()))
    rows = []
    for minute, raw in zip(wanted, replies, strict=True):
        start = datetime.fromtimestamp(minute * 60, UTC).isoformat().replace("+00:00", "Z")
        row: dict[str, Any] = {"at": start, **{name: int(raw.get(name.encode(), 0)) for name in COUNTED}}
        depth = raw.get(b"depth")
        row["depth"] = int(depth) if depth is not None else None
        rows.append(row)
    return rows
