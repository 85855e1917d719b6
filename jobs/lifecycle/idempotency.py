"""Idempotency-Key: a retried submit returns the job the first one made."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

from jobs.models import BaseJobRequest
from streams.lua import LuaScript

_CLAIM = LuaScript(
    """
-- KEYS: idempotency key; ARGV: "<body hash> <job id>", ttl s
if redis.call("SET", KEYS[1], ARGV[1], "NX", "EX", ARGV[2]) then return false end
return redis.call("GET", KEYS[1])
"""
)

MAX_KEY_LENGTH = 255
# Visible ASCII only: what every HTTP stack carries unchanged (and what /openapi.json declares).
KEY_PATTERN = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")


@dataclass(frozen=True, slots=True)
class Earlier:
    """What an earlier submit with the same key made."""

    body_hash: str
    job_id: str


def request_hash(request: BaseJobRequest) -> str:
    """Same request, same hash, however its JSON was spelled."""
    canonical = orjson.dumps(request.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


async def claim_key(redis: Redis, key: str, body_hash: str, job_id: str, ttl_s: int) -> Earlier | None:
    """Claim `key` for `job_id`; None if claimed, else what the earlier submit recorded."""
    existing = await _CLAIM(redis, [key], [f"{body_hash} {job_id}", ttl_s])
    if not existing:
        return None
    body, _, earlier_id = existing.decode().partition(" ")
    return Earlier(body, earlier_id)
