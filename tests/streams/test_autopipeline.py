"""Commands of one loop turn go to Redis together; each caller still gets its own reply or error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, ResponseError

from streams.autopipeline import AutoPipelineRedis
from tests.support.redis_server import free_port


@pytest.fixture
async def batched(redis_url: str) -> AsyncIterator[AutoPipelineRedis]:
    pool = ConnectionPool.from_url(redis_url)  # no cap: a connection per command, were they sent one by one
    client = AutoPipelineRedis(pool)
    yield client
    await pool.aclose()


async def connections_received(redis: Redis) -> int:
    return int((await redis.info("stats"))["total_connections_received"])


async def test_commands_issued_together_share_one_connection(batched: AutoPipelineRedis, redis: Redis) -> None:
    before = await connections_received(redis)
    await asyncio.gather(*(batched.set(f"k{i}", i) for i in range(50)))
    replies = await asyncio.gather(*(batched.get(f"k{i}") for i in range(50)))
    assert replies == [str(i).encode() for i in range(50)]
    # Sent one by one, 50 concurrent commands would have opened 50 connections.
    assert await connections_received(redis) - before == 1


async def test_each_caller_gets_its_own_reply_or_error(batched: AutoPipelineRedis, redis: Redis) -> None:
    await batched.set("text", "not a number")
    outcomes = await asyncio.gather(batched.incr("counter"), batched.incr("text"), batched.hset("h", "f", "v"),
                                    batched.execute_command("SET", "none", None), batched.get("missing"),
                                    batched.execute_command("CONFIG GET", "maxclients"), return_exceptions=True)
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], ResponseError)
    assert outcomes[2] == 1
    assert isinstance(outcomes[3], DataError)  # no Redis type: never sent
    assert outcomes[4] is None
    assert outcomes[5] == await redis.config_get("maxclients")  # a command named in two words
    assert await batched.get("text") == b"not a number"


async def test_a_lone_command_is_answered_too(batched: AutoPipelineRedis) -> None:
    assert await batched.incr("alone") == 1
    assert await batched.incr("alone") == 2


async def test_an_unreachable_redis_fails_every_command_of_the_batch() -> None:
    pool = ConnectionPool.from_url(f"redis://127.0.0.1:{free_port()}/0")
    client = AutoPipelineRedis(pool)
    try:
        outcomes = await asyncio.gather(*(client.get(f"k{i}") for i in range(5)), return_exceptions=True)
        assert all(isinstance(outcome, RedisConnectionError) for outcome in outcomes)
        alone = await asyncio.gather(client.get("k"), return_exceptions=True)
        assert isinstance(alone[0], RedisConnectionError)
    finally:
        await pool.aclose()
