"""Webhook delivery: a job's events POSTed to the client's URL, signed (`signing.py`).

The contract, for a job submitted with `"webhook": {"url", "secret", "events"}`
(`jobs.models.WebhookSpec`):

- One POST per chosen event (default: the terminal ones); body, `webhook-id`,
  `webhook-timestamp` and `webhook-signature` as `jobs.webhooks.signing` makes them.
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

The arq side: `jobs.worker.functions.deliver` is the job function (one arq
job per event, arguments `(job_id, event_id, event_type, data, url, secret)`,
`max_tries=MAX_DELIVERY_ATTEMPTS`); it calls `deliver_event` with the worker's
client (made once with `webhook_client`) and arq's try number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncGenerator
from typing import Any, Final, cast

import httpx
from arq.worker import Retry

from jobs.errors import BlockedAddress, InvalidURL
from jobs.fetch import AddressPolicy, FetchLimits, Resolver, guarded_client, translate_error, validate_url
from jobs.fetch.guarded_client import DEFAULT_BACKEND, Backend
from jobs.retry_timing import backoff_delay_s, retry_after_s
from jobs.webhooks.signing import message_id, sign, webhook_payload
from streams.events import parse_stream_id

__all__ = [
    "BACKOFF_CAP_S",
    "DELIVERY_TIMEOUT_S",
    "MAX_DELIVERY_ATTEMPTS",
    "RESPONSE_PREVIEW_BYTES",
    "WebhookDeliveryError",
    "deliver_event",
    "deliver_once",
    "redelivery_delay_s",
    "webhook_client",
]

logger = logging.getLogger("scrapestream.webhooks")

MAX_DELIVERY_ATTEMPTS: Final = 12  # the first attempt and 11 retries, spread over about 27 minutes
BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 600.0
BACKOFF_JITTER: Final = 0.2  # ±20 %: receivers that fail together are not all retried together
DELIVERY_TIMEOUT_S: Final = 15.0  # the spec suggests 15-30 s for the receiver to answer
RESPONSE_PREVIEW_BYTES: Final = 4096

_UNPRINTABLE = re.compile(r"[^\x20-\x7e]+")
_GONE = 410


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
    backend: Backend | None = None,
) -> httpx.AsyncClient:
    """The worker's client for deliveries: the page fetcher's address guard, no redirects, no cookies.

    `backend` is FETCH_BACKEND's (None: the default one). Close it at worker
    shutdown (`await client.aclose()`).
    """
    limits = FetchLimits(
        max_header_bytes=16 * 1024,
        connect_timeout_s=min(timeout_s, 10.0),
        read_timeout_s=timeout_s,
        total_timeout_s=timeout_s,
    )
    return guarded_client(policy, limits, resolver, user_agent=user_agent, backend=backend or DEFAULT_BACKEND)


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


async def deliver_event(
    client: httpx.AsyncClient,
    attempt: int,
    job_id: str,
    event_id: str,
    event_type: str,
    data: dict[str, Any],
    url: str,
    secret: str,
    *,
    timeout_s: float = DELIVERY_TIMEOUT_S,
) -> str:
    """Attempt number `attempt` (from 1) of one delivery: "delivered", "failed" (given up), or arq's Retry.

    `secret` comes last so that arq's job log line (cut at 80 characters) never reaches it.
    """
    msg_id = message_id(job_id, event_id)
    ts = data.get("ts")
    if not isinstance(ts, int):
        parsed = parse_stream_id(event_id)  # the stream id starts with the publisher's ms
        ts = parsed[0] if parsed else time.time_ns() // 1_000_000
    body = webhook_payload(job_id, event_type, data, ts)
    try:
        await deliver_once(client, url, secret, msg_id, body, timeout_s=timeout_s)
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

