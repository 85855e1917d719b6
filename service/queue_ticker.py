"""The `queue` event of `GET /events`: the `/queue` numbers, every few seconds, while someone follows.

Computed once per web process per interval and written to every activity
follower of the process by the hub, so a hundred open dashboards cost one
`/queue` computation, not a hundred. Not a stream entry: the frame has no
`id:`, so a reconnecting client resumes from the last job event it saw.
Each computation also notes the queue depth in the minute's history hash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import orjson
from redis.asyncio import Redis
from sse_starlette import ServerSentEvent

from jobs.queue.history import record_depth
from jobs.queue.stats import queue_stats
from streams.events import now_ms
from streams.hub import FollowerHub
from streams.keys import Keyspace

logger = logging.getLogger("scrapestream.sse")


def encode_queue_event(numbers: dict[str, object]) -> bytes:
    """The `queue` frame: sse-starlette's encoding, LF line ends, as every frame of ours (service.sse)."""
    return ServerSentEvent(orjson.dumps({**numbers, "ts": now_ms()}).decode(), event="queue", sep="\n").encode()


class QueueTicker:
    """Runs while the process has activity followers; stops by itself when the last one leaves."""

    def __init__(self, hub: FollowerHub, redis: Redis, keys: Keyspace, every_s: float) -> None:
        self.hub = hub
        self.redis = redis
        self.keys = keys
        self.every_s = every_s
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Called when a follower attaches; its first `queue` event comes at the next tick."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="activity-queue-ticker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def tick(self) -> int:
        """Compute the numbers once and send them to every activity follower; how many got them."""
        numbers = await queue_stats(self.redis, self.keys)
        await record_depth(self.redis, self.keys, int(numbers["queued"]["total"]))
        return self.hub.broadcast_to_activity(encode_queue_event(numbers))

    async def _run(self) -> None:
        # A follower attaching right now may not be registered yet: the first tick comes after a pause.
        await asyncio.sleep(min(self.every_s, 0.2))
        while self.hub.activity_followers():
            try:
                await self.tick()
            except Exception:  # Redis away: the followers' own streams report it; try again next tick
                logger.warning("could not compute the queue numbers for activity followers", exc_info=True)
            await asyncio.sleep(self.every_s)
