"""Where a crawl's or batch's pages go: one Redis list per job, one JSON entry per page.

A crawl of thousands of pages never sits in one Redis value or in worker
memory: each page is pushed as it is done, and `GET /jobs/{id}/result` reads a
slice with LRANGE, while the job runs and after.

Every write to the list happens in a script that also publishes the page's
event: the completion of a crawl's or batch's page (`jobs.store.crawl_state`),
refused once the page's lease is another worker's (or the coordinator's
attempt is stale), or the fenced script of an attempt's events. A worker that
lost its claim cannot add, overwrite or drop an entry.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, cast

import orjson
from redis.asyncio import Redis

from streams.keys import Keyspace
from streams.publish import ThenCommand


def error_entry(url: str, code: str, message: str, **extra: Any) -> bytes:
    return orjson.dumps({"url": url, "error": {"code": code, "message": message}, **extra})


def push_commands(keys: Keyspace, job_id: str, entry: bytes, ttl_s: int) -> list[ThenCommand]:
    """Append a page's entry: commands for the script that publishes its `page` event (fenced with it)."""
    return [ThenCommand("RPUSH", keys.pages(job_id), (entry,)), ThenCommand("EXPIRE", keys.pages(job_id), (ttl_s,))]


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
