"""Reading what a stream already holds (XRANGE), strictly after an id."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from .events import Event


@dataclass(frozen=True, slots=True)
class Replay:
    events: list[Event]
    # The oldest entry still in the stream (None: the stream is empty or gone).
    oldest: Event | None


def exclusive_start(after_id: str | None) -> str:
    """XRANGE start bound for "strictly after" (Redis ≥ 6.2 supports `(`)."""
    return "-" if after_id in (None, "0", "0-0") else f"({after_id}"


async def replay_events(
    redis: Redis, stream_key: str, after_id: str | None, *, count: int | None = None
) -> list[Event]:
    entries = await redis.xrange(stream_key, min=exclusive_start(after_id), max="+", count=count)
    return [Event.from_entry(entry_id, fields) for entry_id, fields in entries]


async def replay_with_oldest(redis: Redis, stream_key: str, after_id: str | None) -> Replay:
    """Replay plus the oldest id, in one round trip, to detect trimmed history."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xrange(stream_key, min="-", max="+", count=1)
        pipe.xrange(stream_key, min=exclusive_start(after_id), max="+")
        first, entries = await pipe.execute()
    oldest = Event.from_entry(*first[0]) if first else None
    return Replay([Event.from_entry(i, f) for i, f in entries], oldest)
