"""`max_age_s`: reuse a completed scrape of the same URL and options instead of fetching again."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
from redis.asyncio import Redis

from jobs.models import ScrapeRequest
from jobs.store.records import StoredJob
from streams.keys import Keyspace


def cache_key(keys: Keyspace, owner: str, request: ScrapeRequest) -> str:
    identity = orjson.dumps(request.cache_identity(), option=orjson.OPT_SORT_KEYS)
    return keys.result_cache(owner, hashlib.sha256(identity).hexdigest()[:40])


async def fresh_result(
    redis: Redis, keys: Keyspace, owner: str, request: ScrapeRequest, max_age_s: float
) -> tuple[bytes, str] | None:
    """(result JSON marked `"cached": true`, id of the job that made it), if one is young enough."""
    source = await redis.get(cache_key(keys, owner, request))
    if source is None:
        return None
    source_id = source.decode()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.get(keys.result(source_id))
        pipe.hgetall(keys.record(source_id))
        result, raw = await pipe.execute()
    source_job = StoredJob.from_hash(raw)
    finished = source_job.record.finished_at if source_job else None
    if result is None or finished is None:
        return None
    if (datetime.now(UTC) - finished).total_seconds() > max_age_s:
        return None
    document: dict[str, Any] = orjson.loads(result)
    document["cached"] = True
    return orjson.dumps(document), source_id
