"""API keys: created by the CLI, stored as hashes only, checked in constant time.

A key reads `ss_<key id>_<secret>`. Redis keeps, per key id, the SHA-256 of
the secret (the secret itself is never stored) with the key's name. A request
is authenticated by looking the id up and comparing the secret's hash with
`hmac.compare_digest`. A wrong secret, an unknown id, a revoked key and
garbage all get the same answer.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from redis.asyncio import Redis

from jobs.schedules.store import delete_owner_schedules
from streams.keys import Keyspace

KEY_PREFIX = "ss_"
# Verified keys are remembered this long per web process: a revoke takes effect within it.
CACHE_S = 5.0
CACHE_MAX = 10_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    name: str
    created_at: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _split(presented: str) -> tuple[str, str] | None:
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    key_id, sep, secret = presented[len(KEY_PREFIX):].partition("_")
    if not sep or not key_id.isalnum() or not secret:
        return None
    return key_id, secret


async def create_key(redis: Redis, keys: Keyspace, name: str) -> tuple[ApiKey, str]:
    """A new key; the second value is the full key, shown once and never stored."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    created = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    await cast(Awaitable[int], redis.hset(
        keys.api_key(key_id), mapping={"name": name, "hash": _digest(secret), "created_at": created}
    ))
    await cast(Awaitable[int], redis.sadd(keys.api_key_index(), key_id))
    return ApiKey(key_id, name, created), f"{KEY_PREFIX}{key_id}_{secret}"


async def list_keys(redis: Redis, keys: Keyspace) -> list[ApiKey]:
    ids = sorted(m.decode() for m in await cast(Awaitable[set[bytes]], redis.smembers(keys.api_key_index())))
    found = []
    for key_id in ids:
        raw = await cast(Awaitable[dict[bytes, bytes]], redis.hgetall(keys.api_key(key_id)))
        if raw:
            found.append(ApiKey(key_id, raw[b"name"].decode(), raw[b"created_at"].decode()))
    return found


async def revoke_key(redis: Redis, keys: Keyspace, name_or_id: str) -> list[str]:
    """Delete every key with this id or name, and its schedules (nothing runs in a revoked key's name);
    returns the ids revoked."""
    revoked = [k.id for k in await list_keys(redis, keys) if name_or_id in (k.id, k.name)]
    for key_id in revoked:
        await redis.delete(keys.api_key(key_id))
        await cast(Awaitable[int], redis.srem(keys.api_key_index(), key_id))
        await delete_owner_schedules(redis, keys, key_id)
    return revoked


class KeyVerifier:
    """Checks presented keys, remembering good ones briefly (one Redis read per key per few seconds)."""

    def __init__(self, redis: Redis, keys: Keyspace) -> None:
        self.redis = redis
        self.keys = keys
        self._good: dict[str, tuple[str, float]] = {}

    async def owner_of(self, presented: str) -> str | None:
        """The key id that owns this key's jobs, or None (wrong, unknown or revoked key)."""
        now = time.monotonic()
        cached = self._good.get(presented)
        if cached is not None and cached[1] > now:
            return cached[0]
        parts = _split(presented)
        # Unknown ids still hash and compare against a dummy, so timing tells nothing.
        key_id, secret = parts or ("", presented)
        stored = None
        if parts is not None:
            stored = await cast(Awaitable[bytes | None], self.redis.hget(self.keys.api_key(key_id), "hash"))
        expected = stored.decode() if stored else "0" * 64
        if not hmac.compare_digest(_digest(secret), expected) or stored is None:
            return None
        if len(self._good) >= CACHE_MAX:
            self._good.clear()
        self._good[presented] = (key_id, now + CACHE_S)
        return key_id
