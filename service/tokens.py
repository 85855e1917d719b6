"""Link tokens: job-scoped, read-only, expiring, signed (HMAC-SHA256).

`EventSource` cannot send an Authorization header, and an API key must never
reach a browser. The submit response's `links.events` and `links.result`
carry `?token=<expiry>.<signature>`: it opens that job's events and result
and nothing else, and a backend can hand those URLs to its page.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Final

from redis.asyncio import Redis

from streams.ascii_decimal import parse_ascii_decimal
from streams.keys import Keyspace


def _sign(secret: bytes, job_id: str, expires: int) -> str:
    mac = hmac.new(secret, f"read:{job_id}:{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def make_token(secret: bytes, job_id: str, ttl_s: int, *, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_s)
    return f"{expires}.{_sign(secret, job_id, expires)}"


# Far past any expiry this service signs; a bound keeps int() cheap on a hostile token.
MAX_EXPIRES: Final = 2**63 - 1


def token_opens(secret: bytes, job_id: str, token: str, *, now: float | None = None) -> bool:
    """Whether `token` opens this job now. A malformed or tampered one simply does not."""
    expires_text, sep, signature = token.partition(".")
    expires = parse_ascii_decimal(expires_text, maximum=MAX_EXPIRES)
    if not sep or expires is None or len(token) > 200:
        return False
    if expires < (time.time() if now is None else now):
        return False
    # As bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    return hmac.compare_digest(_sign(secret, job_id, expires).encode(), signature.encode(errors="replace"))


async def shared_secret(redis: Redis, keys: Keyspace, configured: str) -> bytes:
    """TOKEN_SECRET, or one secret made once and shared by every web process through Redis."""
    if configured:
        return configured.encode()
    await redis.set(keys.token_secret(), secrets.token_urlsafe(48), nx=True)
    stored = await redis.get(keys.token_secret())
    assert stored is not None
    return bytes(stored)
