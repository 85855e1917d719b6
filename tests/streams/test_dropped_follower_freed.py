"""A follower dropped for stalling is freed as soon as its request is done, without the garbage collector."""

from __future__ import annotations

import asyncio
import gc
import weakref

from redis.asyncio import ConnectionPool, Redis

from service.sse import KEEPALIVE_FRAME, encode_frame
from streams.hub import FollowerHub, FollowerStalled
from streams.keys import Keyspace
from streams.publish import StreamLimits

from .conftest import open_stream, publish
from .test_hub import Recorder, no_gap


async def dropped_for_stalling(hub: FollowerHub, key: str, sink: Recorder) -> bool:
    """Follow as `service.sse` does: awaiting `serve` in the request's own task."""
    try:
        async with asyncio.timeout(10):
            await hub.serve(key, "0-0", sink, gap_frame=no_gap)
    except FollowerStalled:
        return True
    return False


async def test_a_stalled_follower_leaves_no_reference_cycle(redis_url: str, redis: Redis, keys: Keyspace,
                                                             limits: StreamLimits) -> None:
    """What broke: the hub kept the FollowerStalled of a follower dropped on a live write with its
    traceback, whose frames held the follower, which held the exception: a cycle that kept each
    dropped connection's objects until a full collection (after 2,000 drops, ~100 ms of the event loop,
    and the web process's RSS stayed up until then)."""
    reader = Redis(connection_pool=ConnectionPool.from_url(redis_url, max_connections=1))
    hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME,
                      keys=Keyspace("t"), send_timeout_s=0.3)
    await hub.start()
    gc.disable()
    try:
        await open_stream(redis, keys, limits, "stalls")
        gate = asyncio.Event()
        sink = Recorder(gate)
        follow = asyncio.create_task(dropped_for_stalling(hub, keys.events("stalls"), sink))
        gate.set()  # the replay goes out; from the live entry on, the client reads nothing
        while not sink.frames:  # noqa: ASYNC110 - stepping the loop until the replay is written
            await asyncio.sleep(0.01)
        gate.clear()
        await asyncio.sleep(0.1)
        await publish(redis, keys, limits, "stalls", "progress", percent=1)
        assert await follow, "the follower must be dropped for accepting nothing"
        assert sink.aborted
        freed = weakref.ref(sink)
        del sink, follow
        await asyncio.sleep(0)
        assert freed() is None, "the dropped follower's sink must be freed without a garbage collection"
    finally:
        gc.enable()
        await hub.stop()
        await reader.aclose(close_connection_pool=True)
