"""The follower hub: one reader, exact handoff from replay to live, bounded buffers."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from streams.events import Event
from streams.hub import FollowerHub, Gap
from streams.keys import Keyspace
from streams.publish import StreamLimits

from .conftest import open_stream, publish


def never_gap(after: str | None, oldest: Event | None) -> bool:
    return False


async def collect(hub: FollowerHub, key: str, after: str | None = None) -> list[str]:
    ids = []
    async for item in hub.follow(key, after, detect_gap=never_gap):
        assert isinstance(item, Event)
        ids.append(item.id)
    return ids


async def test_replay_then_live_until_the_terminal_event(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                                         limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    await publish(redis, keys, limits, "j1", "started", attempt=1)
    follower = asyncio.create_task(collect(hub, keys.events("j1")))
    await asyncio.sleep(0.05)
    for i in range(5):
        await publish(redis, keys, limits, "j1", "progress", percent=i)
    await publish(redis, keys, limits, "j1", "completed")
    ids = await asyncio.wait_for(follower, 10)
    stored = [e[0].decode() for e in await redis.xrange(keys.events("j1"))]
    assert ids == stored


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
        return await collect(hub, key)

    followers = [asyncio.create_task(late_follower(n * 7)) for n in range(40)]
    await asyncio.wait_for(publisher(), 30)
    results = await asyncio.wait_for(asyncio.gather(*followers), 30)
    stored = [e[0].decode() for e in await redis.xrange(key)]
    assert len(stored) == 402
    for ids in results:
        assert ids == stored


async def test_resume_strictly_after_an_id(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                           limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    for i in range(5):
        await publish(redis, keys, limits, "j1", "progress", percent=i)
    await publish(redis, keys, limits, "j1", "completed")
    stored = [e[0].decode() for e in await redis.xrange(keys.events("j1"))]
    assert await collect(hub, keys.events("j1"), stored[2]) == stored[3:]


async def test_a_slow_follower_is_caught_up_from_redis(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                                       limits: StreamLimits) -> None:
    """The hub buffers at most `buffer_limit` (50) events per follower; the rest come from Redis."""
    await open_stream(redis, keys, limits, "slow")
    key = keys.events("slow")
    stream = hub.follow(key, None, detect_gap=never_gap)
    first = await stream.__anext__()  # attached, replay started
    received = [first.id]  # type: ignore[union-attr]
    for i in range(300):
        await publish(redis, keys, limits, "slow", "progress", percent=i % 100)
    await publish(redis, keys, limits, "slow", "completed")
    await asyncio.sleep(0.2)
    followers = hub.followers[key]
    assert all(len(f.buffer) <= 50 for f in followers)
    async for item in stream:
        received.append(item.id)  # type: ignore[union-attr]
    stored = [e[0].decode() for e in await redis.xrange(key)]
    assert received == stored


async def test_gap_is_announced_when_history_is_gone(hub: FollowerHub, redis: Redis, keys: Keyspace) -> None:
    limits = StreamLimits(maxlen=100, ttl_s=600)
    await open_stream(redis, keys, limits, "trim")
    first_id = (await redis.xrange(keys.events("trim")))[0][0].decode()
    for i in range(1_000):
        await publish(redis, keys, limits, "trim", "progress", percent=i % 100)
    await publish(redis, keys, limits, "trim", "completed")

    def older_than_oldest(after: str | None, oldest: Event | None) -> bool:
        return after is not None and oldest is not None and after < oldest.id

    items = [item async for item in hub.follow(keys.events("trim"), first_id, detect_gap=older_than_oldest)]
    assert isinstance(items[0], Gap)
    assert isinstance(items[-1], Event) and items[-1].type == "completed"


async def test_disconnects_free_everything(hub: FollowerHub, redis: Redis, keys: Keyspace,
                                           limits: StreamLimits) -> None:
    """1,000 followers attach and leave; the hub keeps no subscription and no task."""
    await open_stream(redis, keys, limits, "busy")
    key = keys.events("busy")
    for _ in range(1_000):
        stream = hub.follow(key, None, detect_gap=never_gap)
        await stream.__anext__()  # the `queued` event: attached
        task = asyncio.create_task(stream.__anext__())  # now waiting on live events
        await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await stream.aclose()
    await asyncio.sleep(0.05)
    assert hub.follower_count == 0
    assert hub.followers == {} and hub.cursors == {}
    assert hub.pending_tasks == 0
