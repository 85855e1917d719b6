"""Publishing: one atomic step per event; a terminal event seals the stream."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event

from .conftest import open_stream, publish


async def test_an_event_is_two_fields_readable_in_redis_cli(redis: Redis, keys: Keyspace,
                                                            limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    entry_id = await publish(redis, keys, limits, "j1", "progress", phase="fetch", percent=20, message="m")
    entries = await redis.xrange(keys.events("j1"))
    assert [e[0].decode() for e in entries][-1] == entry_id
    fields = entries[-1][1]
    assert set(fields) == {b"type", b"data"}
    assert fields[b"type"] == b"progress"
    data = orjson.loads(fields[b"data"])
    assert data["phase"] == "fetch" and data["percent"] == 20 and isinstance(data["ts"], int)


async def test_state_fields_change_with_the_event(redis: Redis, keys: Keyspace, limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    await append_event(redis, keys.events("j1"), keys.record("j1"), "started", {"attempt": 1},
                       state={"status": "running", "attempt": 1}, limits=limits)
    assert await redis.hget(keys.record("j1"), "status") == b"running"


async def test_nothing_follows_a_terminal_event(redis: Redis, keys: Keyspace, limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    terminal = await publish(redis, keys, limits, "j1", "completed", summary={})
    assert terminal is not None
    assert await publish(redis, keys, limits, "j1", "progress", phase="x") is None
    assert await publish(redis, keys, limits, "j1", "failed", code="x") is None
    entries = await redis.xrange(keys.events("j1"))
    assert entries[-1][0].decode() == terminal
    assert [e[1][b"type"] for e in entries] == [b"queued", b"completed"]
    assert await redis.hget(keys.record("j1"), "terminal_event_id") == terminal.encode()


async def test_publishing_to_an_unknown_job_creates_nothing(redis: Redis, keys: Keyspace,
                                                            limits: StreamLimits) -> None:
    assert await publish(redis, keys, limits, "ghost", "progress") is None
    assert await redis.exists(keys.events("ghost"), keys.record("ghost")) == 0


async def test_every_key_expires_and_the_stream_is_capped(redis: Redis, keys: Keyspace) -> None:
    limits = StreamLimits(maxlen=100, ttl_s=600)
    await open_stream(redis, keys, limits, "j1")
    for i in range(1_000):
        await publish(redis, keys, limits, "j1", "progress", percent=i % 100)
    assert 0 < await redis.ttl(keys.events("j1")) <= 600
    assert 0 < await redis.ttl(keys.record("j1")) <= 600
    # MAXLEN ~ trims whole macro nodes: close to the cap, never far beyond it.
    assert await redis.xlen(keys.events("j1")) < 300


async def test_an_attachment_is_stored_only_with_its_event(redis: Redis, keys: Keyspace,
                                                           limits: StreamLimits) -> None:
    await open_stream(redis, keys, limits, "j1")
    await publish(redis, keys, limits, "j1", "cancelled", by="client")
    refused = await append_event(redis, keys.events("j1"), keys.record("j1"), "completed", {},
                                 attach=[(keys.result("j1"), b"{}")], limits=limits)
    assert refused is None
    assert await redis.exists(keys.result("j1")) == 0

