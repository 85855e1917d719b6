"""Webhook delivery: a job's events POSTed to the client's URL, signed per Standard Webhooks.

The contract, for a job submitted with `"webhook": {"url", "secret", "events"}`:

- One POST per chosen event (default: the terminal ones), body
  `{"type": "job.<event>", "timestamp": <event time, ISO 8601 UTC>,
  "data": {"job_id": ..., **event data}}` as compact JSON; the body is the same
  bytes on every attempt.
- Headers `webhook-id` (`message_id`: the same on every attempt, so receivers
  can dedupe), `webhook-timestamp` (unix seconds of *this* attempt, which the
  signature covers, so a captured request cannot be replayed later) and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
  keyed by the base64 bytes after the secret's `whsec_` prefix.
- Only a 2xx answer is a delivery. Anything else is retried with exponential
  backoff (`redelivery_delay_s`, or the receiver's Retry-After when longer) up to
  MAX_DELIVERY_ATTEMPTS in all, except what retrying cannot fix: an address
  the guard refuses, an unusable URL, and `410 Gone` (the spec's "stop
  sending"). Redirects are never followed: a 3xx is a failed attempt.
- Every connection goes through the guard of page fetches
  (`jobs.fetch.guarded_client`): private and loopback targets are reachable
  only where ALLOW_PRIVATE_ADDRESSES admits them. The receiver's answer is
  hostile input too: at most RESPONSE_PREVIEW_BYTES of its body are read, and
  the whole attempt has a deadline.
- Deliveries of one job are independent arq jobs: they may arrive out of
  order (a retried `progress` after `completed`); the payload timestamp orders them.

The arq side: `deliver_webhook` is the job function. It reads
`ctx["webhook_client"]` (made once per worker with `webhook_client`), the
optional `ctx["webhook_timeout_s"]`, and arq's `ctx["job_try"]`; register it
with `max_tries=MAX_DELIVERY_ATTEMPTS`, one arq job per event, arguments
`(job_id, event_id, event_type, data, url, secret)`. Importing this module loads neither
arq nor the fetcher (the request models may embed `WebhookSpec`, and the SDK
imports those): both are imported where they are used.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal, cast, get_args
from urllib.parse import urlsplit

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jobs.errors import BlockedAddress, InvalidURL
from jobs.retry_timing import backoff_delay_s, retry_after_s

if TYPE_CHECKING:
    from jobs.fetch import AddressPolicy, Resolver

__all__ = [
    "BACKOFF_CAP_S",
    "DEFAULT_EVENTS",
    "DELIVERY_TIMEOUT_S",
    "MAX_DELIVERY_ATTEMPTS",
    "RESPONSE_PREVIEW_BYTES",
    "WEBHOOK_EVENTS",
    "WebhookDeliveryError",
    "WebhookEvent",
    "WebhookSpec",
    "deliver_once",
    "deliver_webhook",
    "generate_secret",
    "message_id",
    "redelivery_delay_s",
    "sign",
    "webhook_client",
    "webhook_payload",
]

logger = logging.getLogger("scrapestream.webhooks")

WebhookEvent = Literal["queued", "started", "progress", "page", "retrying", "completed", "failed", "cancelled"]
WEBHOOK_EVENTS: Final[frozenset[str]] = frozenset(get_args(WebhookEvent))
DEFAULT_EVENTS: Final[tuple[WebhookEvent, ...]] = ("completed", "failed", "cancelled")

MAX_DELIVERY_ATTEMPTS: Final = 12  # the first attempt and 11 retries, spread over about 27 minutes
BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 600.0
BACKOFF_JITTER: Final = 0.2  # ±20 %: receivers that fail together are not all retried together
DELIVERY_TIMEOUT_S: Final = 15.0  # the spec suggests 15-30 s for the receiver to answer
RESPONSE_PREVIEW_BYTES: Final = 4096
MAX_URL_LENGTH: Final = 2048

SECRET_PREFIX: Final = "whsec_"
# The spec: "at least 24 bytes (192 bits, 512 maximum)".
MIN_SECRET_BYTES: Final = 24
MAX_SECRET_BYTES: Final = 64

_HTTP_SCHEMES = frozenset({"http", "https"})
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")
# The spec forbids "." in the id (it delimits the signed content); we allow less still.
_ID_PART = re.compile(r"[A-Za-z0-9_-]{1,128}")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
_GONE = 410


# ---- what the client asks for ----


class WebhookSpec(BaseModel):
    """Where to POST a job's events, the secret to sign them with, and which events."""

    # The secret must not come back in a validation error (which may be logged).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH,
        description="http(s) URL that receives a POST per event; reachable under the same address rules as pages.",
    )
    secret: str = Field(
        repr=False,
        description="Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes.",
    )
    events: tuple[WebhookEvent, ...] = Field(
        default=DEFAULT_EVENTS, min_length=1, max_length=4 * len(WEBHOOK_EVENTS),
        description="Which events to deliver, each as a `job.<event>` POST; by default the terminal ones.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # A first check only: the guard judges the addresses when delivering
        # (and the submit route may refuse early with `validate_url`).
        if _FORBIDDEN_URL_CHARS.search(value):
            raise ValueError("the URL must not contain spaces or control characters")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if parts.scheme.lower() not in _HTTP_SCHEMES:
            raise ValueError("the URL must be http:// or https://")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("URLs with credentials (user@host) are not allowed")
        if port == 0:
            raise ValueError("the URL has no usable port")
        return value

    @field_validator("secret")
    @classmethod
    def _signing_secret(cls, value: str) -> str:
        _secret_key(value)
        return value

    @field_validator("events")
    @classmethod
    def _dedupe(cls, value: tuple[WebhookEvent, ...]) -> tuple[WebhookEvent, ...]:
        return tuple(dict.fromkeys(value))

    def wants(self, event_type: str) -> bool:
        """Whether an event of this type (`completed`, not `job.completed`) is delivered."""
        return event_type in self.events


def generate_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError, naming what is wrong, otherwise."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"the secret must start with {SECRET_PREFIX!r}")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        # Unpadded base64 is common in the wild; any other stray character is an error.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the part after {SECRET_PREFIX!r} must be standard base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ValueError(
            f"the secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}"
        )
    return key


# ---- what is sent ----


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    digest = hmac.new(_secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def message_id(job_id: str, event_id: str) -> str:
    """The `webhook-id` of one event of one job: stable, so every retry carries the same one."""
    for part in (job_id, event_id):
        if not _ID_PART.fullmatch(part):
            raise ValueError(f"not usable in a webhook id: {part!r}")
    return f"msg_{job_id}_{event_id}"


def webhook_payload(job_id: str, event_type: str, data: dict[str, Any], ts_ms: int) -> bytes:
    """The body: `{"type": "job.<event>", "timestamp": <ts_ms as ISO 8601 UTC>, "data": {"job_id", ...}}`."""
    if event_type not in WEBHOOK_EVENTS:
        raise ValueError(f"not a webhook event type: {event_type!r}")
    occurred = datetime.fromtimestamp(ts_ms // 1000, UTC) + timedelta(milliseconds=ts_ms % 1000)
    payload = {
        "type": f"job.{event_type}",
        "timestamp": occurred.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        # The job's own id wins over any `job_id` inside the data: no event speaks for another job.
        "data": {"job_id": job_id, **{k: v for k, v in data.items() if k != "job_id"}},
    }
    return orjson.dumps(payload)


# ---- one attempt ----


class WebhookDeliveryError(Exception):
    """An attempt that did not end in a 2xx.

    `code` is the JobError code of the cause (`http_status`, `fetch_error`,
    `fetch_timeout`, `blocked_address`, `invalid_url`, `too_large`);
    `retryable` says whether another attempt could succeed; `status` is the
    receiver's status when it answered; `retry_after_s` its Retry-After.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        retryable: bool,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.retryable = retryable
        self.status = status
        self.retry_after_s = retry_after_s


def webhook_client(
    policy: AddressPolicy,
    *,
    user_agent: str,
    timeout_s: float = DELIVERY_TIMEOUT_S,
    resolver: Resolver | None = None,
) -> httpx.AsyncClient:
    """The worker's client for deliveries: the page fetcher's address guard, no redirects, no cookies.

    Close it at worker shutdown (`await client.aclose()`).
    """
    from jobs.fetch import FetchLimits, guarded_client

    limits = FetchLimits(
        max_header_bytes=16 * 1024,
        connect_timeout_s=min(timeout_s, 10.0),
        read_timeout_s=timeout_s,
        total_timeout_s=timeout_s,
    )
    return guarded_client(policy, limits, resolver, user_agent=user_agent)


async def deliver_once(
    client: httpx.AsyncClient,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    *,
    timeout_s: float = DELIVERY_TIMEOUT_S,
) -> None:
    """POST `body` to `url`, signed, once. Returns on a 2xx; raises WebhookDeliveryError otherwise."""
    from jobs.fetch import AddressPolicy, translate_error, validate_url

    shown = _shown_url(url)
    try:
        # Spelling only, as for pages: "http://2130706433/" becomes http://127.0.0.1/, so the
        # host httpx connects to is the one named in messages; the client's guard judges it.
        target = validate_url(url, AddressPolicy(allow_private=True, allowed_ports=None))
    except (BlockedAddress, InvalidURL) as exc:
        raise WebhookDeliveryError(f"not delivered to {shown}: {exc.message}", code=exc.code, retryable=False) from exc

    timestamp = int(time.time())  # this attempt's time: what the receiver checks for replays
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    try:
        async with asyncio.timeout(timeout_s):
            async with client.stream("POST", target, content=body, headers=headers) as response:
                preview = await _read_preview(response)
    except Exception as exc:
        error = translate_error(exc, shown, deadline_s=timeout_s)
        # The guard's answer and a malformed URL are the same on every attempt.
        retryable = not isinstance(error, BlockedAddress | InvalidURL)
        raise WebhookDeliveryError(
            f"not delivered to {shown}: {error.message}", code=error.code, retryable=retryable
        ) from exc

    status = response.status_code
    if 200 <= status < 300:
        return
    answer = f"{status} {response.reason_phrase}".strip()
    if 300 <= status < 400:
        answer += " (redirects are not followed: point the webhook at the final URL)"
    elif preview:
        answer += f": {preview}"
    raise WebhookDeliveryError(
        f"the webhook receiver at {shown} answered {answer}",
        code="http_status",
        retryable=status != _GONE,
        status=status,
        retry_after_s=retry_after_s(response.headers.get("retry-after")),
    )


async def _read_preview(response: httpx.Response) -> str:
    """The start of the receiver's answer, printable and short; the rest is never read."""
    received = bytearray()
    # Raw bytes: the client asked for no content coding, and decoding is what bombs exploit.
    # An async generator in fact: close it here rather than whenever it is garbage collected.
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(raw) as chunks:
        async for chunk in chunks:
            received += chunk
            if len(received) >= RESPONSE_PREVIEW_BYTES:
                break  # leaving the stream unread closes the connection: fine for a hostile one
    text = bytes(received[:RESPONSE_PREVIEW_BYTES]).decode("utf-8", errors="replace")
    text = _UNPRINTABLE.sub(" ", text).strip()
    return text if len(text) <= 200 else text[:197] + "..."


def _shown_url(url: str) -> str:
    """The URL for messages and logs, without a query that may carry the receiver's own token."""
    shown = url.split("?", 1)[0].split("#", 1)[0]
    return shown if len(shown) <= 200 else shown[:197] + "..."


# ---- the arq job ----


def redelivery_delay_s(attempt: int) -> float:
    """How long to wait after failed delivery attempt number `attempt` (1-based).

    1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600 s (capped at BACKOFF_CAP_S),
    each ±20 % jitter: with MAX_DELIVERY_ATTEMPTS = 12, the last attempt comes
    about 27 minutes after the first.
    """
    return backoff_delay_s(
        attempt, base_s=BACKOFF_BASE_S, cap_s=BACKOFF_CAP_S, jitter=(1 - BACKOFF_JITTER, 1 + BACKOFF_JITTER)
    )


async def deliver_webhook(
    ctx: dict[str, Any],
    job_id: str,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    url: str,
    secret: str,
) -> str:
    """arq job: deliver one event; "delivered", "failed" (given up), or arq's Retry for later.

    `secret` comes last so that arq's job log line (cut at 80 characters) never reaches it.
    """
    from arq.worker import Retry

    from streams.events import parse_stream_id

    attempt: int = ctx.get("job_try") or 1
    msg_id = message_id(job_id, event_id)
    ts = data.get("ts")
    if not isinstance(ts, int):
        parsed = parse_stream_id(event_id)  # the stream id starts with the publisher's ms
        ts = parsed[0] if parsed else time.time_ns() // 1_000_000
    body = webhook_payload(job_id, event_type, data, ts)
    timeout_s: float = ctx.get("webhook_timeout_s") or DELIVERY_TIMEOUT_S
    try:
        await deliver_once(ctx["webhook_client"], url, secret, msg_id, body, timeout_s=timeout_s)
    except WebhookDeliveryError as error:
        if error.retryable and attempt < MAX_DELIVERY_ATTEMPTS:
            delay = redelivery_delay_s(attempt)
            if error.retry_after_s is not None:
                delay = max(delay, min(error.retry_after_s, BACKOFF_CAP_S))
            logger.info(
                "webhook %s of job %s: attempt %d/%d failed, next in %.1f s: %s",
                msg_id, job_id, attempt, MAX_DELIVERY_ATTEMPTS, delay, error.message,
            )
            raise Retry(defer=delay) from error
        reason = f"after {attempt} attempts" if error.retryable else "(retrying cannot help)"
        logger.warning("webhook %s of job %s not delivered %s: %s", msg_id, job_id, reason, error.message)
        return "failed"
    logger.info("webhook %s of job %s delivered (attempt %d)", msg_id, job_id, attempt)
    return "delivered"

