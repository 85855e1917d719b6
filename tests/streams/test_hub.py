"""The follower hub: one reader, exact handoff from replay to live, bounded buffers."""

from __future__ import annotations

import asyncio
import re

import pytest
from redis.asyncio import Redis

from service.sse import KEEPALIVE_FRAME, encode_frame
from streams.events import Event
from streams.hub import FollowerClosed, FollowerHub
from streams.keys import Keyspace
from streams.publish import StreamLimits

from .conftest import open_stream, publish

ID = re.compile(rb"^id: (\S+)$", re.M)


async def no_gap(after: str | None, oldest: Event | None) -> bytes | None:
    return None


class Recorder:
    """A sink that keeps what it is given; `gate` (if set) blocks every write until opened."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.frames: list[bytes] = []
        self.gate = gate
        self.aborted = False

    def try_write(self, frame: bytes) -> bool:
        return False  # always the awaited path, so `gate` can block it

    async def write(self, frame: bytes) -> None:
        if self.gate is not None:
            await self.gate.wait()
        self.frames.append(frame)

    def abort(self) -> None:
        self.aborted = True

    @property
    def ids(self) -> list[str]:
        return [m.decode() for f in self.frames for m in ID.findall(f)]


class FastRecorder(Recorder):
    def try_write(self, frame: bytes) -> bool:
        self.frames.append(frame)
        return True


async def stored_ids(redis: Redis, key: str) -> list[str]:
    return [e[0].decode() for e in await redis.xrange(key)]


async def follow(hub: FollowerHub, key: str, after: str | None = None, *, fast: bool = False) -> list[str]:
    sink = FastRecorder() if fast else Recorder()
    await hub.serve(key, after, sink, gap_frame=no_gap)
    return sink.ids


async def test_replay_then_live_until_the_terminal_event(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                                         limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    await publish(redis, keys, limits, "j1", "started", attempt=1)
    follower = asyncio.create_task(follow(hub, keys.events("j1")))
    await asyncio.sleep(0.05)
    for i in range(5):
        await publish(redis, keys, limits, "j1", "progress", percent=i)
    await publish(redis, keys, limits, "j1", "completed")
    assert await asyncio.wait_for(follower, 10) == await stored_ids(redis, keys.events("j1"))


async def test_frames_carry_the_stored_data_untouched(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                                      limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    await publish(redis, keys, limits, "j1", "progress", phase="fetch", percent=7, message="ünïcode")
    await publish(redis, keys, limits, "j1", "completed")
    sink = Recorder()
    await hub.serve(keys.events("j1"), None, sink, gap_frame=no_gap)
    entries = await redis.xrange(keys.events("j1"))
    expected = [f"id: {i.decode()}\nevent: {f[b'type'].decode()}\ndata: {f[b'data'].decode()}\n\n".encode()
                for i, f in entries]
    assert b"".join(sink.frames) == b"".join(expected)  # joined into fewer writes, byte for byte


async def test_events_published_while_followers_attach_arrive_once_each(
    hub: FollowerHub, redis: Redis, keys: Keyspace, limits: StreamLimits
) -> None:
    """The replay→live race, provoked: followers attach while a publisher runs flat out."""
    await open_stream(redis, keys, limits, "race")
    key = keys.events("race")

    async def publisher() -> None:
        for i in range(400):
            await publish(redis, keys, limits, "race", "progress", percent=i % 100)
            if i % 10 == 0:
                await asyncio.sleep(0)
        await publish(redis, keys, limits, "race", "completed")

    async def late_follower(delay_steps: int) -> list[str]:
        for _ in range(delay_steps):
            await asyncio.sleep(0)
        return await follow(hub, key, fast=delay_steps % 2 == 0)

    followers = [asyncio.create_task(late_follower(n * 7)) for n in range(40)]
    await asyncio.wait_for(publisher(), 30)
    results = await asyncio.wait_for(asyncio.gather(*followers), 30)
    stored = await stored_ids(redis, key)
    assert len(stored) == 402
    for ids in results:
        assert ids == stored


async def test_resume_strictly_after_an_id(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                           limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    for i in range(5):
        await publish(redis, keys, limits, "j1", "progress", percent=i)
    await publish(redis, keys, limits, "j1", "completed")
    stored = await stored_ids(redis, keys.events("j1"))
    assert await follow(hub, keys.events("j1"), stored[2]) == stored[3:]


async def test_a_blocked_follower_is_caught_up_from_redis(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                                          limits: StreamLimits) -> None:
    """While a follower's writes block, at most `buffer_limit` (50) entries wait; the rest come from Redis."""
    await open_stream(redis, keys, limits, "slow")
    key = keys.events("slow")
    fast, gate = Recorder(), asyncio.Event()
    slow = Recorder(gate)
    slow_task = asyncio.create_task(hub.serve(key, None, slow, gap_frame=no_gap))
    fast_task = asyncio.create_task(hub.serve(key, None, fast, gap_frame=no_gap))
    await asyncio.sleep(0.1)
    gate.set()  # let the replay of `queued` through, then block again
    await asyncio.sleep(0.1)
    gate.clear()
    for i in range(300):
        await publish(redis, keys, limits, "slow", "progress", percent=i % 100)
    await publish(redis, keys, limits, "slow", "completed")
    await asyncio.wait_for(fast_task, 10)
    waiting = [f for f in hub.followers[key]]
    assert len(waiting) == 1 and waiting[0].pending_count <= 50
    gate.set()
    await asyncio.wait_for(slow_task, 10)
    stored = await stored_ids(redis, key)
    assert fast.ids == stored
    assert slow.ids == stored


async def test_a_follower_that_accepts_nothing_is_dropped(redis_url: str, redis: Redis, keys: Keyspace,
                                                          limits: StreamLimits) -> None:
    from redis.asyncio import ConnectionPool

    reader = Redis(connection_pool=ConnectionPool.from_url(redis_url, max_connections=1))
    hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME,
                      keys=Keyspace("t"), send_timeout_s=0.5)
    await hub.start()
    try:
        await open_stream(redis, keys, limits, "dead")
        stuck = Recorder(asyncio.Event())
        task = asyncio.create_task(hub.serve(keys.events("dead"), "0-0", stuck, gap_frame=no_gap))
        await asyncio.sleep(0.1)
        # The replay write itself blocks; once live, a blocked write is timed out.
        stuck.gate.set()  # type: ignore[union-attr]
        await asyncio.sleep(0.1)
        stuck.gate.clear()  # type: ignore[union-attr]
        await publish(redis, keys, limits, "dead", "progress", percent=1)
        try:
            await asyncio.wait_for(task, 10)
        except FollowerClosed as exc:
            assert "accepted nothing" in str(exc)
        else:
            raise AssertionError("a follower that accepts nothing must be dropped")
        assert stuck.aborted, "its connection must be aborted, not left to drain into a full socket"
        assert hub.follower_count == 0
    finally:
        await hub.stop()
        await reader.aclose(close_connection_pool=True)


async def test_gap_is_announced_when_history_is_gone(hub: FollowerHub, redis: Redis, keys: Keyspace) -> None:
    limits = StreamLimits(maxlen=100, ttl_s=600)
    await open_stream(redis, keys, limits, "trim")
    first_id = (await stored_ids(redis, keys.events("trim")))[0]
    for i in range(1_000):
        await publish(redis, keys, limits, "trim", "progress", percent=i % 100)
    await publish(redis, keys, limits, "trim", "completed")

    async def gap(after: str | None, oldest: Event | None) -> bytes | None:
        if after is not None and oldest is not None and after < oldest.id:
            return b"event: resync\ndata: {}\n\n"
        return None

    sink = Recorder()
    await hub.serve(keys.events("trim"), first_id, sink, gap_frame=gap)
    assert sink.frames[0] == b"event: resync\ndata: {}\n\n"
    assert b"event: completed" in sink.frames[-1]


async def test_disconnects_free_everything(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                           limits: StreamLimits) -> None:
    """1,000 followers attach and leave; the hub keeps no subscription and no task."""
    await open_stream(redis, keys, limits, "busy")
    key = keys.events("busy")
    for _ in range(1_000):
        sink = Recorder()
        task = asyncio.create_task(hub.serve(key, None, sink, gap_frame=no_gap))
        while not sink.frames:  # noqa: ASYNC110 - stepping the loop until the replay is written
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0.05)
    assert hub.follower_count == 0
    assert hub.followers == {} and hub.cursors == {}
    assert hub.pending_tasks == 0


async def test_reconnect_backoff_starts_afresh_once_redis_answers_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The reader's reconnect delay grew through an outage and never came back down.

    After one long outage, every later blip (a failover, a dropped connection)
    kept followers waiting the full 5 s before the reader reconnected.
    """
    from redis.asyncio import ConnectionPool

    from streams.hub import RECONNECT_FIRST_S
    from tests.support.redis_server import RedisServer

    server = RedisServer().start()
    keys, limits = Keyspace("t"), StreamLimits(maxlen=1_000, ttl_s=600)
    redis = Redis.from_url(server.url)
    reader = Redis(connection_pool=ConnectionPool.from_url(server.url, max_connections=1, client_name="reader"))
    # XREAD answers every 0.2 s even with nothing new, so it succeeds soon after Redis is back.
    hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME, keys=keys,
                      block_ms=200)
    await hub.start()
    try:
        await open_stream(redis, keys, limits, "j")
        before = asyncio.create_task(hub.serve(keys.events("j"), None, FastRecorder(), gap_frame=no_gap))
        async with asyncio.timeout(30):  # safety nets, not timing assertions
            while hub.cursors.get(keys.events("j")) is None:  # noqa: ASYNC110 - hub state, no event to wait on
                await asyncio.sleep(0.01)
            server.stop()
            with pytest.raises(FollowerClosed):  # it could not be caught up without Redis
                await before
            assert hub.reconnect_delay_s > RECONNECT_FIRST_S  # the reader failed, and waits longer each time
            server.start()  # same port: the outage is over (its data is gone: no persistence here)
            await open_stream(redis, keys, limits, "j")
            sink = FastRecorder()
            after = asyncio.create_task(hub.serve(keys.events("j"), None, sink, gap_frame=no_gap))
            await publish(redis, keys, limits, "j", "progress", percent=1)
            while len(sink.ids) < 2 or hub.reconnect_delay_s != RECONNECT_FIRST_S:  # noqa: ASYNC110 - hub state
                await asyncio.sleep(0.01)

        # The next failure waits the first step again, as the log tells the operator.
        caplog.clear()
        await redis.client_kill_filter(_type="normal", skipme=True)
        await publish(redis, keys, limits, "j", "completed")
        await asyncio.wait_for(after, 30)
        failures = [r.getMessage() for r in caplog.records if r.name == "scrapestream.hub"]
        assert failures and all(m == f"hub reader failed; reconnecting in {RECONNECT_FIRST_S:.1f}s"
                                for m in failures)
        assert sink.ids == await stored_ids(redis, keys.events("j"))
    finally:
        await hub.stop()
        await reader.aclose(close_connection_pool=True)
        await redis.aclose()
        server.cleanup()
