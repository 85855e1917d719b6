"""One blocking reader per process, writing each stream entry to every follower.

A web process may have thousands of SSE followers. Instead of one XREAD BLOCK
(and one Redis connection) each, `FollowerHub` runs one XREAD BLOCK over every
watched stream on a dedicated connection and writes each entry to the
followers of its stream. An entry is encoded once, by the encoder the web
layer hands in (streams/ knows nothing of HTTP), and the same bytes go to every
follower; followers attaching together share one encoded history too, and
followers resuming within the newest entries of a watched stream get them from
its `StreamTail` (streams/tail.py), with no Redis read and no encoding at all.

The subtle parts:

* Replay → live without gap or duplicate (as Mercure does it): a follower is
  registered *before* its history is read, so nothing published meanwhile can
  slip past it: the hub buffers it. Then the history is read (XRANGE), then the
  buffer is flushed, and an entry is never written unless its id is newer than
  the last one written (ids are totally ordered). Every XREAD reply carries the
  id it was read after; one read after more than a follower has (the reader was
  started ahead of it, or had passed the tail it resumed from) is not written to
  it: it is caught up from Redis instead, so no entry in between is skipped.
* Writing without waking a task per follower: once caught up, a follower is
  written to by the hub itself: `sink.try_write(frame)` when the sink can
  write without blocking, else `sink.write(frame)` stepped synchronously (it
  completes without suspending unless the client's socket is full). Only a
  write that does suspend gets a task, which owns that follower until it is
  caught up again (what asyncio's eager tasks do in Python ≥ 3.12). That task
  waits for what the write suspended on with `asyncio.wait`, then resumes it.
* A slow follower never grows memory: while its write is blocked, at most
  `buffer_limit` entries (and `buffer_bytes` of frames) wait for it; beyond
  that they are dropped and the follower is caught up from Redis (XRANGE after
  its last id), which is exact because ids are resumable. When the stream's
  tail holds everything after the follower's last entry, nothing is queued at
  all: the follower is marked behind and caught up from the tail (else from
  Redis) once writable, so thousands of stalled followers cost one flag check
  each per reply. Otherwise what waits is the XREAD replies themselves (shared).
* A stalled follower is dropped: every write that has to wait (its socket
  unwritable) gets `send_timeout_s`, whether it is a replay, a catch-up or a
  live entry. Past it the sink is aborted (its buffers freed at once, the
  client sees a reset) and the follower removed; the client may resume with
  Last-Event-ID. A timeout per write, not per follower, so a slow client that
  keeps reading is never dropped.
* Entries read together go out together: a follower gets the frames of one
  XREAD reply in one write (joined once per reply), so a reader that falls
  behind catches up in fewer, larger writes instead of falling further behind.
* Adding a stream to a blocked XREAD: the XREAD also watches a per-hub control
  stream from its last seen id, and whoever changes the watch set XADDs to it.
  If that XADD reaches Redis before the XREAD does, the XREAD sees it at once,
  so no change is ever missed (CLIENT UNBLOCK would leave that window open).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis

from .coalesce import Coalescer
from .events import Event, format_stream_id, parse_stream_id
from .keys import Keyspace
from .replay import replay_events, replay_with_oldest
from .tail import Encoded, StreamTail

logger = logging.getLogger("scrapestream.hub")

RECONNECT_FIRST_S = 0.1
# A replay or catch-up is written in joined chunks of about this size: few writes, and
# what a stalled client holds up in userspace stays about one chunk.
WRITE_CHUNK_BYTES = 16 * 1024
RECONNECT_MAX_S = 5.0


class Sink(Protocol):
    """Where one follower's bytes go (an HTTP response, typically)."""

    def try_write(self, frame: bytes) -> bool:
        """Write now without blocking, or refuse (False) and let `write` do it."""

    async def write(self, frame: bytes) -> None:
        """Write, waiting for the client if its socket is full."""

    def abort(self) -> None:
        """Drop the connection now, discarding whatever is still unsent."""

GapFrame = Callable[[str | None, Event | None], Awaitable[bytes | None]]
"""Given (after_id, oldest entry left), the frame announcing lost history, or None."""

EncodeEvent = Callable[[Event], bytes]
"""An entry's frame as followers receive it (the web layer's SSE encoder)."""

@dataclass(frozen=True, slots=True)
class EncodedReplay:
    entries: list[Encoded]
    # The oldest entry still in the stream (None: the stream is empty or gone).
    oldest: Event | None


class FollowerClosed(Exception):
    """The follower's writes failed, timed out, or the hub stopped."""


class FollowerStalled(FollowerClosed):
    """The client accepted nothing for `send_timeout_s`; its connection was aborted."""


class Follower:
    """One client following one stream."""

    __slots__ = ("busy", "drainer", "endless", "error", "finished", "key", "lagging", "last", "pending",
                 "pending_bytes", "pending_count", "sink")

    def __init__(self, key: str, sink: Sink, after: tuple[int, int], *, endless: bool = False) -> None:
        self.key = key
        # An owner's activity stream has no terminal entry: its followers stay until they leave.
        self.endless = endless
        self.sink = sink
        self.last = after
        # While busy, the hub queues entries here instead of writing them: whole XREAD replies
        # (shared), each with the id its read started after.
        self.busy = True
        self.pending: list[tuple[tuple[int, int], list[Encoded]]] = []
        self.pending_count = 0
        self.pending_bytes = 0
        self.lagging = False
        self.drainer: asyncio.Task[None] | None = None
        # Set once the follower is done; `error` says why, if it was dropped.
        self.finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.error: FollowerClosed | None = None

    def take_pending(self) -> list[Encoded]:
        replies = self.pending
        self.drop_pending()
        return [entry for _, reply in replies for entry in reply]

    def drop_pending(self) -> None:
        self.pending, self.pending_count, self.pending_bytes = [], 0, 0

    def close(self, exc: FollowerClosed | None = None) -> None:
        if not self.finished.done():
            if exc is not None:
                # Kept without its traceback and context: their frames hold this follower, and
                # through it the connection's objects, in a cycle that only a full garbage
                # collection would free (thousands of dropped followers: a long pause).
                self.error = exc.with_traceback(None)
                exc.__context__ = exc.__cause__ = None
            self.finished.set_result(None)

    def take_error(self) -> FollowerClosed:
        """Why it was dropped, no longer held here (raising it from a frame that holds the follower makes no cycle)."""
        error, self.error = self.error, None
        return error or FollowerClosed("dropped")


def _step(coro: Coroutine[Any, Any, None]) -> Any:
    """Run `coro` until it first suspends; StopIteration means it completed."""
    return coro.send(None)


async def _resume(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    """Finish a coroutine that `_step` left suspended on `yielded` (a future, or None for a bare yield)."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                # Wait for the future to settle without awaiting it ourselves: the
                # coroutine awaits it, and reads its result or error, when resumed.
                await asyncio.wait((yielded,))
        except asyncio.CancelledError:
            if yielded is not None:
                yielded.cancel()  # as a Task does with the future it waits on
            coro.close()
            raise
        try:
            yielded = coro.send(None)
        except StopIteration:
            return


class FollowerHub:
    """Serves every follower of one process from one XREAD BLOCK loop."""

    def __init__(
        self,
        reader: Redis,
        commands: Redis,
        *,
        encode: EncodeEvent,
        keepalive_frame: bytes,
        keys: Keyspace,
        block_ms: int = 30_000,
        batch: int = 500,
        buffer_limit: int = 1_000,
        buffer_bytes: int = 1 << 20,
        send_timeout_s: float = 30.0,
        keepalive_s: float = 15.0,
        tail_entries: int = 1_000,
        tail_bytes: int = 1 << 20,
        tail_budget_bytes: int = 64 << 20,
    ) -> None:
        # `reader` must be a client of its own (it blocks); `commands` is the shared pool.
        self.reader = reader
        self.commands = commands
        self.encode = encode
        self.keepalive_frame = keepalive_frame
        self.control_key = keys.hub_control(uuid.uuid4().hex)
        # Every owner's activity stream, as (prefix, suffix) around the owner.
        head, _, tail = keys.owner_activity("\x00").partition("\x00")
        self._activity_shape = (head, tail)
        self.block_ms = block_ms
        self.batch = batch
        self.buffer_limit = buffer_limit
        self.buffer_bytes = buffer_bytes
        self.send_timeout_s = send_timeout_s
        self.keepalive_s = keepalive_s
        # Each watched stream's newest entries, at most `tail_entries` (keep it under half the
        # streams' MAXLEN: see streams/tail.py) and `tail_bytes`; all tails together `tail_budget_bytes`.
        self.tail_entries = tail_entries
        self.tail_bytes = tail_bytes
        self.tail_budget_bytes = tail_budget_bytes
        self.tails: dict[str, StreamTail] = {}
        self.tails_size = 0
        self.followers: dict[str, set[Follower]] = {}
        self.cursors: dict[str, str] = {}
        # The newest entry written out per watched stream: a tail that reaches it lacks nothing.
        self.dispatched: dict[str, tuple[int, int]] = {}
        self._control_cursor = "0-0"
        # Seconds before the reader reconnects after a failure: doubles while Redis
        # stays unreachable, back to the first step once an XREAD answers again.
        self.reconnect_delay_s = RECONNECT_FIRST_S
        self._changed = asyncio.Event()
        self._reading = False
        self._wake_sent = False
        self._tasks: list[asyncio.Task[None]] = []
        self._wake_tasks: set[asyncio.Task[None]] = set()
        self._replays: Coalescer[EncodedReplay] = Coalescer()

    # ---- lifecycle ----

    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(), name="follower-hub"),
                asyncio.create_task(self._keepalive(), name="follower-hub-keepalive"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for task in list(self._wake_tasks):
            task.cancel()
        for group in list(self.followers.values()):
            for follower in list(group):
                follower.close(FollowerClosed("the server is shutting down"))
        self._forget_tails()
        with contextlib.suppress(Exception):
            await self.commands.delete(self.control_key)

    @property
    def follower_count(self) -> int:
        return sum(len(group) for group in self.followers.values())

    @property
    def pending_tasks(self) -> int:
        drainers = sum(1 for g in self.followers.values() for f in g if f.drainer and not f.drainer.done())
        return len(self._wake_tasks) + drainers

    # ---- following ----

    async def serve(self, key: str, after_id: str | None, sink: Sink, *, gap_frame: GapFrame) -> None:
        """Write every entry after `after_id`, then live ones, until a terminal entry (an activity stream: none).

        Returns once the terminal entry is written; raises FollowerClosed when
        the follower had to be dropped. Cancel it when the client goes away.
        """
        head, tail = self._activity_shape
        endless = key.startswith(head) and key.endswith(tail)
        follower = Follower(key, sink, parse_stream_id(after_id or "0-0") or (0, 0), endless=endless)
        self.followers.setdefault(key, set()).add(follower)
        try:
            # From the stream's tail when it holds all this follower lacks: registered
            # first, so whatever comes after the tail's newest entry is queued for it.
            replay = self._replay_from_tail(key, after_id)
            if replay is None:
                # Followers attaching together share one read. Safe although the read may
                # predate this registration: `_watch_from` rewinds the reader to where
                # this follower's replay ends, and duplicates are never written.
                replay = await self._replays.get((key, after_id), lambda: self._read_history(key, after_id))
            frame = await gap_frame(after_id, replay.oldest)
            if frame is not None:
                await self._write(follower, frame)
            if not await self._write_all(follower, replay.entries):
                await self._catch_up(follower)
            await follower.finished
            if follower.error is not None:
                raise follower.take_error()
        finally:
            self._unregister(follower)

    async def _read_history(self, key: str, after_id: str | None) -> EncodedReplay:
        replay = await replay_with_oldest(self.commands, key, after_id)
        encoded = EncodedReplay(self._encode_all(replay.events), replay.oldest)
        self._keep_in_tail(key, after_id, encoded)
        return encoded

    # ---- tails: the newest entries of each watched stream, encoded ----

    def _replay_from_tail(self, key: str, after_id: str | None) -> EncodedReplay | None:
        """What follows `after_id`, from memory; None when the tail does not hold all of it.

        A follower without an id (from the start) always reads Redis: only Redis
        knows whether the stream still begins with its first entry.
        """
        after = parse_stream_id(after_id) if after_id is not None else None
        tail = None if after is None else self._complete_tail(key, after)
        if tail is None or after is None:
            return None
        # `oldest` is at or before the tail's start: no gap, as Redis would say (streams/tail.py).
        return EncodedReplay(tail.since(after), tail.oldest)

    def _complete_tail(self, key: str, after: tuple[int, int]) -> StreamTail | None:
        """The stream's tail if it holds every entry after `after` that was written out so far."""
        tail = self.tails.get(key)
        if tail is None or not tail.covers(after) or tail.end < self.dispatched.get(key, (0, 0)):
            return None
        return tail

    def _keep_in_tail(self, key: str, after_id: str | None, replay: EncodedReplay) -> None:
        """Seed (or extend) the stream's tail with a history just read from Redis."""
        if key not in self.followers or replay.oldest is None:
            return  # nobody watches it any more (or it is gone): nothing to keep
        after = parse_stream_id(after_id) if after_id is not None else None
        # Everything after the requested id is there, unless the stream was trimmed past it:
        # then everything after its oldest entry is.
        start = replay.oldest.order if after is None else max(after, replay.oldest.order)
        tail = self.tails.get(key)
        if tail is not None and start > tail.end:
            self._forget_tail(key)  # this read begins past it: the newer one replaces it
            tail = None
        if tail is None:
            tail = self.tails[key] = StreamTail(start, replay.oldest, max_entries=self.tail_entries,
                                                max_bytes=self.tail_bytes)
        self._extend_tail(key, tail, replay.entries, start)

    def _extend_tail(self, key: str, tail: StreamTail, entries: list[Encoded], read_after: tuple[int, int]) -> None:
        grown = tail.extend(entries, read_after)
        if grown is None:
            self._forget_tail(key)  # a hole: it can no longer vouch for every entry
            return
        self.tails_size += grown
        over = self.tails_size - self.tail_budget_bytes
        if over > 0:
            self.tails_size -= tail.shrink_to(max(0, tail.size - over))

    def _forget_tail(self, key: str) -> None:
        tail = self.tails.pop(key, None)
        if tail is not None:
            self.tails_size -= tail.size

    def _forget_tails(self) -> None:
        self.tails.clear()
        self.tails_size = 0

    def _encode_all(self, events: list[Event]) -> list[Encoded]:
        return [(event, self.encode(event)) for event in events]

    async def _write_all(self, follower: Follower, entries: list[Encoded]) -> bool:
        """Write entries newer than the follower's last; True once a terminal one is written.

        Frames are joined into writes of about `WRITE_CHUNK_BYTES`: a replay of
        thousands of entries is a few writes, not thousands.
        """
        chunk: list[bytes] = []
        size = 0
        for event, frame in entries:
            if event.order <= follower.last:
                continue  # already written (replay overlap or a lowered cursor)
            follower.last = event.order
            chunk.append(frame)
            size += len(frame)
            ends = event.is_terminal and not follower.endless
            if ends or size >= WRITE_CHUNK_BYTES:
                await self._write(follower, b"".join(chunk) if len(chunk) > 1 else frame)
                chunk, size = [], 0
            if ends:
                follower.close()
                return True
        if chunk:
            await self._write(follower, b"".join(chunk))
        return False

    async def _write(self, follower: Follower, frame: bytes) -> None:
        """Write one frame; if the client accepts nothing for `send_timeout_s`, abort it (FollowerStalled)."""
        if follower.sink.try_write(frame):
            return
        coro = follower.sink.write(frame)
        try:
            yielded = _step(coro)
        except StopIteration:
            return  # written without waiting: the common case costs no timer
        await self._finish_write(follower, coro, yielded)

    async def _finish_write(self, follower: Follower, coro: Coroutine[Any, Any, None], yielded: Any) -> None:
        # Up to a tenth later for some: followers that stalled together (a crowd attaching at
        # once) are then dropped over a while, not all in one turn of the event loop.
        timeout_s = self.send_timeout_s * (1 + random.random() / 10)
        try:
            async with asyncio.timeout(timeout_s):
                await _resume(coro, yielded)
        except TimeoutError:
            # Abort rather than close: a close would wait for the unsent bytes to drain,
            # which a stalled client never lets happen, holding its buffers for good.
            follower.sink.abort()
            raise FollowerStalled(f"the client accepted nothing for {self.send_timeout_s:g} s") from None

    async def _catch_up(self, follower: Follower) -> None:
        """Flush what queued up (or what it missed, from the tail or Redis), then hand over to the hub."""
        self._watch_from(follower.key, format_stream_id(follower.last))
        while not follower.finished.done():
            if follower.lagging:
                follower.lagging = False
                follower.drop_pending()
                missed = self._complete_tail(follower.key, follower.last)
                if missed is not None:
                    entries = missed.since(follower.last)
                else:
                    events = await replay_events(self.commands, follower.key, format_stream_id(follower.last))
                    entries = self._encode_all(events)
            elif not follower.pending:
                follower.busy = False  # from here on the hub writes to it directly
                return
            elif follower.pending[0][0] > follower.last:
                # The reader started past this follower (another one, resuming from a later id,
                # started it there): what lies between comes from Redis, or it would be skipped.
                follower.lagging = True
                continue
            else:
                entries = follower.take_pending()
            if await self._write_all(follower, entries):
                return

    async def _drain(
        self, follower: Follower, coro: Coroutine[Any, Any, None] | None = None, yielded: Any = None
    ) -> None:
        """Finish a blocked write (if any), then catch the follower up; each write gets the send timeout."""
        try:
            if coro is not None:
                await self._finish_write(follower, coro, yielded)
            await self._catch_up(follower)
        except asyncio.CancelledError:
            raise
        except FollowerClosed as exc:
            follower.close(exc)
        except Exception as exc:
            follower.close(FollowerClosed(f"writing to the client failed: {exc!r}"))

    def _write_now(self, follower: Follower, frame: bytes, terminal: bool) -> None:
        """Write from the hub itself; a write that would block continues in a task."""
        try:
            written = follower.sink.try_write(frame)
        except Exception as exc:
            follower.close(FollowerClosed(f"writing to the client failed: {exc!r}"))
            return
        if written:
            if terminal:
                follower.close()
            return
        coro = follower.sink.write(frame)
        try:
            yielded = _step(coro)
        except StopIteration:
            if terminal:
                follower.close()
            return
        except Exception as exc:
            follower.close(FollowerClosed(f"writing to the client failed: {exc!r}"))
            return
        follower.busy = True
        if terminal:
            # Nothing follows a terminal entry; the drain ends the follower after it.
            follower.drop_pending()
        follower.drainer = asyncio.create_task(self._drain_then_close(follower, coro, yielded, terminal))

    async def _drain_then_close(
        self, follower: Follower, coro: Coroutine[Any, Any, None], yielded: Any, terminal: bool
    ) -> None:
        await self._drain(follower, coro, yielded)
        if terminal:
            follower.close()

    def _unregister(self, follower: Follower) -> None:
        if follower.drainer is not None and not follower.drainer.done():
            follower.drainer.cancel()
        group = self.followers.get(follower.key)
        if group is None:
            return
        group.discard(follower)
        if not group:
            # The next XREAD simply leaves this stream out; no wake needed.
            del self.followers[follower.key]
            self.cursors.pop(follower.key, None)
            self.dispatched.pop(follower.key, None)
            self._forget_tail(follower.key)

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
        while True:
            try:
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except Exception:
                delay = self.reconnect_delay_s
                logger.warning("hub reader failed; reconnecting in %.1fs", delay, exc_info=True)
                await asyncio.sleep(delay)
                self.reconnect_delay_s = min(delay * 2, RECONNECT_MAX_S)
                self._lag_everyone()

    def _lag_everyone(self) -> None:
        # After a reconnect, followers catch up from Redis (their ids are exact). The tails
        # go: Redis may have trimmed past the reader's cursors meanwhile, and XREAD would
        # skip what it trimmed without a word.
        self._forget_tails()
        for group in self.followers.values():
            for follower in group:
                self._lag(follower)

    def _lag(self, follower: Follower) -> None:
        """Have the follower caught up from Redis (by its drain, unless one already runs)."""
        follower.lagging = True
        if not follower.busy:
            follower.busy = True
            follower.drainer = asyncio.create_task(self._drain(follower))

    async def _read_forever(self) -> None:
        while True:
            if not self.cursors:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._reading = True
            self._wake_sent = False
            streams: dict[Any, Any] = dict(self.cursors)
            streams[self.control_key] = self._control_cursor
            try:
                reply = await self.reader.xread(streams, count=self.batch, block=self.block_ms)
            finally:
                self._reading = False
            self.reconnect_delay_s = RECONNECT_FIRST_S  # Redis answers: the next outage starts afresh
            for raw_key, entries in reply or ():
                key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
                if key == self.control_key:
                    self._control_cursor = entries[-1][0].decode()
                    continue
                if self.cursors.get(key) == streams[key]:
                    self.cursors[key] = entries[-1][0].decode()
                # else a follower rewound this cursor while we read: keep the rewind,
                # the next read returns those entries again (followers skip duplicates).
                self._dispatch(key, entries, streams[key])

    def _dispatch(self, key: str, entries: list[tuple[bytes, dict[bytes, bytes]]], read_after: str) -> None:
        group = self.followers.get(key)
        if not group:
            return
        # Encoded once, written to every follower; the frames from entry i on are
        # joined once too, for all the followers that need exactly those.
        encoded = self._encode_all([Event.from_entry(raw_id, fields) for raw_id, fields in entries])
        after = parse_stream_id(read_after) or (0, 0)
        tail = self.tails.get(key)
        if tail is not None:
            self._extend_tail(key, tail, encoded, after)
        last, _ = encoded[-1]
        self.dispatched[key] = max(last.order, self.dispatched.get(key, (0, 0)))
        # A blocked follower the tail holds everything for needs nothing queued, just a flag:
        # no work per follower and entry while thousands of them stall.
        tail = self.tails.get(key)
        tail_start = tail.start if tail is not None and tail.end >= self.dispatched[key] else None
        joined: dict[int, bytes] = {}
        size = sum(len(frame) for _, frame in encoded)
        # One object for every follower that queues it: no allocation per follower (each
        # would count towards the next garbage collection, thousands per reply).
        reply = (after, encoded)
        for follower in list(group):
            if follower.busy:
                if not follower.lagging:
                    if tail_start is not None and follower.last >= tail_start:
                        # All it misses from here on is in the tail: caught up from there once writable.
                        follower.drop_pending()
                        follower.lagging = True
                    else:
                        self._queue(follower, reply, size)
                continue
            if after > follower.last:
                # This read began past what the follower has (it resumed from a tail that
                # the reader had already passed, or another follower started the reader
                # ahead of it): what lies between comes from Redis, or it would be skipped.
                self._lag(follower)
                continue
            start = 0
            while start < len(encoded) and encoded[start][0].order <= follower.last:
                start += 1  # already written (the reader was rewound for another follower)
            if start == len(encoded):
                continue
            frames = joined.get(start)
            if frames is None:
                frames = joined[start] = b"".join(frame for _, frame in encoded[start:])
            follower.last = last.order
            # A terminal entry is always its stream's last, so it ends the reply too.
            self._write_now(follower, frames, last.is_terminal and not follower.endless)

    def _queue(self, follower: Follower, reply: tuple[tuple[int, int], list[Encoded]], size: int) -> None:
        """Hold a reply (read after, entries; `size` bytes of frames) for a follower whose write is blocked,
        within the buffer's bounds."""
        count = len(reply[1])
        if follower.pending_count + count > self.buffer_limit or follower.pending_bytes + size > self.buffer_bytes:
            # Past the bounds: forget them all; the follower re-reads Redis once writable.
            follower.drop_pending()
            follower.lagging = True
            return
        follower.pending.append(reply)
        follower.pending_count += count
        follower.pending_bytes += size

    def activity_followers(self) -> list[Follower]:
        """The followers of owners' activity streams."""
        return [f for group in self.followers.values() for f in group if f.endless]

    def broadcast_to_activity(self, frame: bytes) -> int:
        """Write a frame that is no stream entry (no `id:`) to every activity follower; how many got it.

        A follower busy catching up skips it: these frames say how things stand
        now, and the next one supersedes it.
        """
        sent = 0
        for follower in self.activity_followers():
            if not follower.busy and not follower.finished.done():
                self._write_now(follower, frame, False)
                sent += 1
        return sent

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive_s)
            for group in list(self.followers.values()):
                for follower in list(group):
                    if not follower.busy and not follower.finished.done():
                        self._write_now(follower, self.keepalive_frame, False)
