"""The hub's stream tails: followers resuming within a watched stream's newest entries get them from memory.

What a follower receives must not depend on whether its history came from the
tail or from Redis: the same ids, the same frames (byte for byte), the same
`resync` when history was trimmed. What the tail saves is visible in Redis's
own command counters: no XRANGE for a follower served from it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import ConnectionPool, Redis

from service.routes.events import history_gap
from service.sse import KEEPALIVE_FRAME, encode_frame
from streams.events import Event
from streams.hub import FollowerHub
from streams.keys import Keyspace
from streams.publish import StreamLimits

from .conftest import open_stream, publish
from .test_hub import ID, FastRecorder, Recorder, stored_ids

RESYNC = b"event: resync\ndata: {}\n\n"


async def gap_frame(after: str | None, oldest: Event | None) -> bytes | None:
    """The events route's own rule for announcing lost history."""
    return RESYNC if history_gap(after, oldest) else None


class Watcher(FastRecorder):
    """Records like FastRecorder, and lets a test wait until a given id has arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = asyncio.Event()
        self.waiting_for = b""

    def try_write(self, frame: bytes) -> bool:
        super().try_write(frame)
        if self.waiting_for and self.waiting_for in frame:
            self.arrived.set()
        return True

    async def until(self, entry_id: str) -> None:
        if any(entry_id.encode() in f for f in self.frames):
            return
        self.arrived.clear()
        self.waiting_for = f"id: {entry_id}\n".encode()
        await asyncio.wait_for(self.arrived.wait(), 10)

    def frames_by_id(self) -> dict[str, bytes]:
        return {m.decode(): f for f in b"".join(self.frames).split(b"\n\n") if f
                for m in ID.findall(f + b"\n")}


async def xrange_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return int(stats.get("cmdstat_xrange", {}).get("calls", 0))


@pytest.fixture
async def small_tail_hub(redis_url: str, redis: Redis) -> AsyncIterator[FollowerHub]:
    """A hub whose tails hold at most 20 entries."""
    reader = Redis(connection_pool=ConnectionPool.from_url(redis_url, max_connections=1))
    hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME, keys=Keyspace("t"),
                      tail_entries=20)
    await hub.start()
    yield hub
    await hub.stop()
    await reader.aclose(close_connection_pool=True)


async def watch(hub: FollowerHub, key: str, after: str | None = None) -> tuple[Watcher, asyncio.Task[None]]:
    sink = Watcher()
    return sink, asyncio.create_task(hub.serve(key, after, sink, gap_frame=gap_frame))


async def watched_job(hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits, job_id: str,
                      events: int) -> tuple[str, Watcher, asyncio.Task[None], list[str]]:
    """A job with `events` progress events and a follower that has them all; (key, follower, its task, ids)."""
    await open_stream(redis, keys, limits, job_id)
    key = keys.events(job_id)
    first, first_task = await watch(hub, key)
    for i in range(events):
        await publish(redis, keys, limits, job_id, "progress", percent=i)
    stored = await stored_ids(redis, key)
    await first.until(stored[-1])
    return key, first, first_task, stored


async def test_a_follower_resuming_within_the_tail_reads_nothing_from_redis(
    small_tail_hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    hub = small_tail_hub
    key, first, first_task, stored = await watched_job(hub, redis, keys, limits, "t1", 10)

    before = await xrange_calls(redis)
    second, second_task = await watch(hub, key, stored[4])
    await second.until(stored[-1])
    assert await xrange_calls(redis) == before, "served from the tail: no XRANGE"
    assert second.ids == stored[5:]
    assert not second.frames[0].startswith(b"event: resync")
    # The very same bytes as the follower that got them live.
    assert all(second.frames_by_id()[i] == first.frames_by_id()[i] for i in stored[5:])

    await publish(redis, keys, limits, "t1", "completed")
    await asyncio.wait_for(asyncio.gather(first_task, second_task), 10)
    stored = await stored_ids(redis, key)
    assert first.ids == stored and second.ids == stored[5:]


async def test_a_follower_older_than_the_tail_reads_redis(
    small_tail_hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    hub = small_tail_hub
    key, first, first_task, stored = await watched_job(hub, redis, keys, limits, "t2", 60)
    tail = hub.tails[key]
    assert len(tail.entries) <= 20 and tail.entries[-1][0].id == stored[-1]

    before = await xrange_calls(redis)
    late, late_task = await watch(hub, key, stored[3])
    await late.until(stored[-1])
    assert await xrange_calls(redis) > before, "older than the tail: read from Redis"
    assert late.ids == stored[4:]

    await publish(redis, keys, limits, "t2", "completed")
    await asyncio.wait_for(asyncio.gather(first_task, late_task), 10)
    stored = await stored_ids(redis, key)
    assert first.ids == stored and late.ids == stored[4:]


async def test_resume_across_a_trim_says_resync_only_when_history_is_gone(
    small_tail_hub: FollowerHub, redis: Redis, keys: Keyspace
) -> None:
    """The stream is capped (MAXLEN ~ 100) and trimmed while followers are away; a watcher stays."""
    hub = small_tail_hub
    limits = StreamLimits(maxlen=100, ttl_s=600)
    await open_stream(redis, keys, limits, "t3")
    key = keys.events("t3")
    first_id = (await stored_ids(redis, key))[0]
    watcher, watcher_task = await watch(hub, key)
    for i in range(600):
        await publish(redis, keys, limits, "t3", "progress", percent=i % 100)
    stored = await stored_ids(redis, key)
    assert stored[0] != first_id, "Redis trimmed the stream"
    await watcher.until(stored[-1])

    # Away since before the trim: older than the tail and than Redis's oldest.
    gone, gone_task = await watch(hub, key, first_id)
    await gone.until(stored[-1])
    assert gone.frames[0] == RESYNC
    assert gone.ids == stored

    # Away since an entry still in the tail (and in Redis): no resync, nothing missed.
    before = await xrange_calls(redis)
    recent, recent_task = await watch(hub, key, stored[-8])
    await recent.until(stored[-1])
    assert await xrange_calls(redis) == before
    assert recent.frames[0] != RESYNC
    assert recent.ids == stored[-7:]

    await publish(redis, keys, limits, "t3", "completed")
    await asyncio.wait_for(asyncio.gather(watcher_task, gone_task, recent_task), 10)
    end = (await stored_ids(redis, key))[-1]
    assert gone.ids == [*stored, end] and recent.ids == [*stored[-7:], end]


async def test_many_followers_at_once_get_the_same_frames_as_from_redis(
    hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    """300 followers attach while the job publishes, resuming from everywhere (the start, the tail, before it)."""
    key, anchor, anchor_task, early = await watched_job(hub, redis, keys, limits, "crowd", 50)

    rng = random.Random(7)
    crowd: list[tuple[str | None, Watcher, asyncio.Task[None]]] = []

    async def publisher() -> None:
        for i in range(200):
            await publish(redis, keys, limits, "crowd", "page", n=i)
            if i % 5 == 0:
                await asyncio.sleep(0)
        await publish(redis, keys, limits, "crowd", "completed")

    async def attach_all() -> None:
        for n in range(300):
            after = None if n % 10 == 0 else rng.choice(early)
            sink, task = await watch(hub, key, after)
            crowd.append((after, sink, task))
            if n % 7 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(publisher(), attach_all())
    await asyncio.wait_for(asyncio.gather(anchor_task, *(task for _, _, task in crowd)), 30)
    stored = await stored_ids(redis, key)
    reference = anchor.frames_by_id()
    assert anchor.ids == stored
    for after, sink, _ in crowd:
        expected = stored if after is None else stored[stored.index(after) + 1:]
        assert sink.ids == expected
        frames = sink.frames_by_id()
        assert all(frames[i] == reference[i] for i in expected)
    assert hub.tails == {} and hub.tails_size == 0, "the tail goes with the stream's last follower"


async def test_tails_stay_within_their_bounds(redis_url: str, redis: Redis, keys: Keyspace,
                                              limits: StreamLimits) -> None:
    """Per stream at most `tail_bytes`; all streams together at most `tail_budget_bytes`."""
    reader = Redis(connection_pool=ConnectionPool.from_url(redis_url, max_connections=1))
    hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME, keys=Keyspace("t"),
                      tail_bytes=8 * 1024, tail_budget_bytes=20 * 1024)
    await hub.start()
    try:
        watchers = []
        for job in ("b1", "b2", "b3", "b4"):
            await open_stream(redis, keys, limits, job)
            watchers.append((job, *(await watch(hub, keys.events(job)))))
        for i in range(40):
            for job, _, _ in watchers:
                await publish(redis, keys, limits, job, "progress", message="x" * 500, percent=i)
        for job, sink, _ in watchers:
            await sink.until((await stored_ids(redis, keys.events(job)))[-1])
        sizes = [hub.tails[keys.events(job)].size for job, _, _ in watchers if keys.events(job) in hub.tails]
        assert all(size <= 8 * 1024 for size in sizes)
        assert sum(sizes) == hub.tails_size <= 20 * 1024
        for job, _, _ in watchers:
            await publish(redis, keys, limits, job, "completed")
        await asyncio.wait_for(asyncio.gather(*(task for _, _, task in watchers)), 10)
        assert hub.tails == {} and hub.tails_size == 0
    finally:
        await hub.stop()
        await reader.aclose(close_connection_pool=True)


async def test_a_follower_resuming_ahead_of_the_reader_costs_no_one_an_entry(
    hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    """The reader starts where a follower resuming from a later id tells it, past what the others have.

    Two things broke there: the first follower, whose replay write was still
    blocked, flushed the entries queued for it from that later start and then
    skipped, as already written, the ones in between; and a tail extended from
    that later start would vouch for entries it never saw. Now the first is
    caught up from Redis, and the tail is dropped (a follower resuming within
    what it held reads Redis).
    """
    await open_stream(redis, keys, limits, "ahead")
    key = keys.events("ahead")
    for i in range(3):
        await publish(redis, keys, limits, "ahead", "progress", percent=i)
    seeded = await stored_ids(redis, key)
    # The first follower's history read seeds the tail; its write blocks, so the reader is not started for it.
    blocked = Recorder(asyncio.Event())
    blocked_task = asyncio.create_task(hub.serve(key, None, blocked, gap_frame=gap_frame))
    while key not in hub.tails:  # noqa: ASYNC110 - hub state, no event to wait on
        await asyncio.sleep(0.01)
    for i in range(5):
        await publish(redis, keys, limits, "ahead", "progress", percent=10 + i)
    stored = await stored_ids(redis, key)
    ahead, ahead_task = await watch(hub, key, stored[-2])  # the reader now starts there
    await publish(redis, keys, limits, "ahead", "progress", percent=20)
    stored = await stored_ids(redis, key)
    await ahead.until(stored[-1])

    behind, behind_task = await watch(hub, key, seeded[1])
    await behind.until(stored[-1])
    assert behind.ids == stored[2:]

    await publish(redis, keys, limits, "ahead", "completed")
    blocked.gate.set()  # type: ignore[union-attr]
    await asyncio.wait_for(asyncio.gather(blocked_task, ahead_task, behind_task), 10)
    stored = await stored_ids(redis, key)
    assert blocked.ids == stored and behind.ids == stored[2:] and ahead.ids == stored[-3:]


async def test_a_blocked_follower_is_caught_up_from_the_tail(
    hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    """While a follower's socket is full nothing is queued for it; once writable it gets what it missed from the
    tail, with no Redis read, and nothing is lost or repeated."""
    key, watcher, watcher_task, stored = await watched_job(hub, redis, keys, limits, "jam", 5)
    gate = asyncio.Event()
    slow = Recorder(gate)
    slow_task = asyncio.create_task(hub.serve(key, stored[2], slow, gap_frame=gap_frame))
    for i in range(30):  # fewer than the hub's buffer_limit (50): a queue would hold them all
        await publish(redis, keys, limits, "jam", "progress", percent=i % 100)
    stored = await stored_ids(redis, key)
    await watcher.until(stored[-1])
    (blocked,) = [f for f in hub.followers[key] if f.sink is slow]
    assert blocked.pending_count == 0, "nothing queued per follower"

    before = await xrange_calls(redis)
    gate.set()
    await publish(redis, keys, limits, "jam", "completed")
    await asyncio.wait_for(asyncio.gather(watcher_task, slow_task), 10)
    assert await xrange_calls(redis) == before, "caught up from the tail"
    stored = await stored_ids(redis, key)
    assert slow.ids == stored[3:] and watcher.ids == stored
