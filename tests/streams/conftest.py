from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import ConnectionPool, Redis

from service.sse import KEEPALIVE_FRAME, encode_frame
from streams.hub import FollowerHub
from streams.keys import Keyspace
from streams.publish import PendingEvent, StreamLimits, append_event, create_stream


@pytest.fixture
def keys() -> Keyspace:
    return Keyspace("t")


@pytest.fixture
def limits() -> StreamLimits:
    return StreamLimits(maxlen=10_000, ttl_s=3600)


@pytest.fixture
async def hub(redis_url: str, redis: Redis) -> AsyncIterator[FollowerHub]:
    reader = Redis(connection_pool=ConnectionPool.from_url(redis_url, max_connections=1))
    follower_hub = FollowerHub(reader, redis, encode=encode_frame, keepalive_frame=KEEPALIVE_FRAME,
                               keys=Keyspace("t"), buffer_limit=50)
    await follower_hub.start()
    yield follower_hub
    await follower_hub.stop()
    await reader.aclose(close_connection_pool=True)


async def open_stream(redis: Redis, keys: Keyspace, limits: StreamLimits, job_id: str) -> None:
    """Create a state hash with its first (`queued`) event, as a submit does."""
    await create_stream(redis, keys.events(job_id), keys.record(job_id),
                        PendingEvent.make("queued", {}, {"id": job_id}), limits=limits)


async def publish(redis: Redis, keys: Keyspace, limits: StreamLimits, job_id: str, event_type: str,
                  **data: object) -> str | None:
    return await append_event(redis, keys.events(job_id), keys.record(job_id), event_type, data,
                              limits=limits)
