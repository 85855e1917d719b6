"""Where a crawl's or batch's pages go: one Redis list per job, one JSON entry per page.

A crawl of thousands of pages never sits in one Redis value or in worker
memory: each page is pushed as it is done, and `GET /jobs/{id}/result` reads a
slice with LRANGE, while the job runs and after.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from streams.keys import Keyspace


def error_entry(url: str, code: str, message: str, **extra: Any) -> bytes:
    return orjson.dumps({"url": url, "error": {"code": code, "message": message}, **extra})


def queue_push(pipe: Pipeline, keys: Keyspace, job_id: str, entry: bytes, ttl_s: int) -> None:
    pipe.rpush(keys.pages(job_id), entry)
    pipe.expire(keys.pages(job_id), ttl_s)


def queue_set(pipe: Pipeline, keys: Keyspace, job_id: str, index: int, entry: bytes) -> None:
    pipe.lset(keys.pages(job_id), index, entry)  # type: ignore[arg-type]  # redis-py takes bytes here too


async def reserve(redis: Redis, keys: Keyspace, job_id: str, urls: list[str], ttl_s: int) -> None:
    """One placeholder per URL, so a batch's entries keep the order of its URLs."""
    key = keys.pages(job_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(key)
        for start in range(0, len(urls), 500):
            pipe.rpush(key, *[orjson.dumps({"url": url, "pending": True}) for url in urls[start:start + 500]])
        pipe.expire(key, ttl_s)
        await pipe.execute()


async def read_pages(redis: Redis, keys: Keyspace, job_id: str, start: int, count: int) -> tuple[list[bytes], int]:
    """A slice of the entries and how many there are in all."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.lrange(keys.pages(job_id), start, start + count - 1)
        pipe.llen(keys.pages(job_id))
        entries, total = await pipe.execute()
    return cast(list[bytes], entries), int(total)


async def all_pages(redis: Redis, keys: Keyspace, job_id: str, *, at_most: int) -> list[dict[str, Any]]:
    raw = await cast(Awaitable[list[bytes]], redis.lrange(keys.pages(job_id), 0, at_most - 1))
    return [orjson.loads(entry) for entry in raw]
