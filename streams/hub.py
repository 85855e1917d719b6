"""One blocking reader per process, fanning stream entries out to every follower.

A web process may have thousands of SSE followers. Instead of one XREAD BLOCK
(and one Redis connection) each, `FollowerHub` runs a single XREAD BLOCK over
every watched stream on one dedicated connection and hands each entry to the
followers of its stream in memory. Entries stay as Redis stored them; the SSE
layer encodes each once.

The subtle parts:

* Replay → live without gap or duplicate (as Mercure does it): a follower is
  registered *before* its history is read, so nothing published meanwhile can
  slip past it; then the history is read with XRANGE, then what the hub
  buffered is flushed, and every entry not newer than the last one handed out
  is dropped (ids are totally ordered).
* Adding a stream to a blocked XREAD: the XREAD also watches a per-hub control
  stream from its last seen id; whoever changes the watch set XADDs to it. If
  that XADD reaches Redis before the XREAD does, the XREAD sees it at once, so
  there is no window in which a change is missed (CLIENT UNBLOCK would have one).
* A slow follower never grows memory: its buffer is bounded; on overflow the
  buffer is dropped and the follower catches up from Redis (XRANGE after its
  last id), which is exact because ids are resumable.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from .events import Event, parse_stream_id
from .replay import replay_events, replay_with_oldest

logger = logging.getLogger("scrapestream.hub")

_MAX_ID = "18446744073709551615-18446744073709551615"


@dataclass(frozen=True, slots=True)
class Gap:
    """History the follower asked for is gone (trimmed or expired); `oldest` is what is left."""

    oldest: Event | None


class Follower:
    """One consumer of one stream: a bounded buffer filled by the hub."""

    __slots__ = ("_wakeup", "buffer", "key", "lagging", "limit")

    def __init__(self, key: str, limit: int) -> None:
        self.key = key
        self.limit = limit
        self.buffer: deque[Event] = deque()
        self.lagging = False
        self._wakeup = asyncio.Event()

    def deliver(self, event: Event) -> None:
        if self.lagging:
            return
        if len(self.buffer) >= self.limit:
            # Fell behind: drop what is buffered and re-read from Redis later.
            self.buffer.clear()
            self.lagging = True
        else:
            self.buffer.append(event)
        self._wakeup.set()

    async def wait(self) -> None:
        await self._wakeup.wait()
        self._wakeup.clear()


class FollowerHub:
    """Serves every follower of one process from one XREAD BLOCK loop."""

    def __init__(
        self,
        reader: Redis,
        commands: Redis,
        *,
        control_key_prefix: str = "ss:hub",
        block_ms: int = 30_000,
        batch: int = 500,
        buffer_limit: int = 1_000,
    ) -> None:
        # `reader` must be a client of its own (it blocks); `commands` is the shared pool.
        self.reader = reader
        self.commands = commands
        self.control_key = f"{control_key_prefix}:{uuid.uuid4().hex}"
        self.block_ms = block_ms
        self.batch = batch
        self.buffer_limit = buffer_limit
        self.followers: dict[str, set[Follower]] = {}
        self.cursors: dict[str, str] = {}
        self._control_cursor = "0-0"
        self._changed = asyncio.Event()
        self._reading = False
        self._wake_sent = False
        self._task: asyncio.Task[None] | None = None
        self._wake_tasks: set[asyncio.Task[None]] = set()

    # ---- lifecycle ----

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="follower-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._wake_tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await self.commands.delete(self.control_key)

    @property
    def follower_count(self) -> int:
        return sum(len(group) for group in self.followers.values())

    @property
    def pending_tasks(self) -> int:
        return len(self._wake_tasks)

    # ---- following ----

    async def follow(
        self, key: str, after_id: str | None, *, detect_gap: Callable[[str | None, Event | None], bool]
    ) -> AsyncIterator[Event | Gap]:
        """Every entry after `after_id`, then live ones, until a terminal event.

        `detect_gap(after_id, oldest_entry)` decides whether missing history must
        be announced (it knows what the first entry of a stream should be).
        """
        follower = self._register(key)
        try:
            replay = await replay_with_oldest(self.commands, key, after_id)
            if detect_gap(after_id, replay.oldest):
                yield Gap(replay.oldest)
            last = parse_stream_id(after_id or "0-0") or (0, 0)
            for event in replay.events:
                last = event.order
                yield event
                if event.is_terminal:
                    return
            self._watch_from(key, f"{last[0]}-{last[1]}")
            while True:
                await follower.wait()
                if follower.lagging:
                    follower.lagging = False
                    follower.buffer.clear()
                    pending = await replay_events(self.commands, key, f"{last[0]}-{last[1]}")
                else:
                    pending = list(follower.buffer)
                    follower.buffer.clear()
                for event in pending:
                    if event.order <= last:
                        continue  # already handed out (replay overlap or a lowered cursor)
                    last = event.order
                    yield event
                    if event.is_terminal:
                        return
        finally:
            self._unregister(follower)

    def _register(self, key: str) -> Follower:
        follower = Follower(key, self.buffer_limit)
        self.followers.setdefault(key, set()).add(follower)
        return follower

    def _unregister(self, follower: Follower) -> None:
        group = self.followers.get(follower.key)
        if group is None:
            return
        group.discard(follower)
        if not group:
            # The next XREAD simply leaves this stream out; no wake needed.
            del self.followers[follower.key]
            self.cursors.pop(follower.key, None)

    def _watch_from(self, key: str, entry_id: str) -> None:
        current = self.cursors.get(key)
        if current is not None and (parse_stream_id(current) or (0, 0)) <= (
            parse_stream_id(entry_id) or (0, 0)
        ):
            return  # already read from an earlier point: this follower is covered
        self.cursors[key] = entry_id
        self._changed.set()
        if self._reading and not self._wake_sent:
            self._wake_sent = True
            task = asyncio.create_task(self._wake_reader())
            self._wake_tasks.add(task)
            task.add_done_callback(self._wake_tasks.discard)

    async def _wake_reader(self) -> None:
        try:
            async with self.commands.pipeline(transaction=True) as pipe:
                pipe.xadd(self.control_key, {"w": "1"}, maxlen=10, approximate=False)
                pipe.expire(self.control_key, max(60, self.block_ms // 1000 * 4))
                await pipe.execute()
        except Exception:
            logger.warning("could not wake the hub reader; it picks up new streams within %s ms",
                           self.block_ms, exc_info=True)

    # ---- the one reader ----

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("hub reader failed; reconnecting in %.1fs", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                # Followers catch up from Redis after a reconnect (their ids are exact).
                for group in self.followers.values():
                    for follower in group:
                        follower.lagging = True
                        follower._wakeup.set()

    async def _read_forever(self) -> None:
        while True:
            if not self.cursors:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._reading = True
            self._wake_sent = False
            streams = dict(self.cursors)
            streams[self.control_key] = self._control_cursor
            try:
                reply = await self.reader.xread(streams, count=self.batch, block=self.block_ms)
            finally:
                self._reading = False
            for raw_key, entries in reply or ():
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                if key == self.control_key:
                    self._control_cursor = entries[-1][0].decode()
                    continue
                self._dispatch(key, entries)

    def _dispatch(self, key: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        group = self.followers.get(key)
        if group is None:
            return
        events = [Event.from_entry(entry_id, fields) for entry_id, fields in entries]
        for follower in list(group):
            for event in events:
                follower.deliver(event)
        if key in self.cursors:
            self.cursors[key] = events[-1].id
