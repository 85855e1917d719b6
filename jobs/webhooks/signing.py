"""What a webhook delivery sends, per Standard Webhooks: the body, its id, its signature.

- The body: `{"type": "job.<event>", "timestamp": <event time, ISO 8601 UTC>,
  "data": {"job_id": ..., **event data}}` as compact JSON, the same bytes on
  every attempt.
- `webhook-id` (`message_id`): the same on every attempt, so receivers can dedupe.
- `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`,
  keyed by the base64 bytes after the secret's `whsec_` prefix; the timestamp
  is the attempt's, so a captured request cannot be replayed later.

Which secrets are valid is the request's business (`jobs.models.WebhookSpec`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from jobs.models import WEBHOOK_EVENTS, WEBHOOK_SECRET_PREFIX, webhook_signing_key

__all__ = ["generate_secret", "message_id", "sign", "webhook_payload"]

# The spec forbids "." in the id (it delimits the signed content); we allow less still.
_ID_PART = re.compile(r"[A-Za-z0-9_-]{1,128}")


def generate_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`."""
    signed = b"%s.%d.%s" % (msg_id.encode(), timestamp, body)
    digest = hmac.new(webhook_signing_key(secret), signed, hashlib.sha256).digest()
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
