"""Following one stream live with XREAD BLOCK: no polling, strictly after an id."""

from __future__ import annotations

from collections.abc import AsyncIterator

from redis.asyncio import Redis

from .events import Event


async def follow_events(
    redis: Redis,
    stream_key: str,
    after_id: str = "0-0",
    *,
    block_ms: int = 15_000,
    count: int = 100,
) -> AsyncIterator[Event]:
    """Yield every entry after `after_id`, then live ones, until a terminal event.

    Each XREAD blocks until something arrives or `block_ms` passes; a timeout
    simply blocks again. Returns after yielding a terminal event. This holds
    one connection per follower; the web process uses the shared hub instead.
    """
    last_id = after_id or "0-0"
    while True:
        reply = await redis.xread({stream_key: last_id}, count=count, block=block_ms)
        for _key, entries in reply or ():
            for entry_id, fields in entries:
                event = Event.from_entry(entry_id, fields)
                last_id = event.id
                yield event
                if event.is_terminal:
                    return
