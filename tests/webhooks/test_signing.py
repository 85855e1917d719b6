"""What is signed and sent: the signature, the payload, the id, the retry schedule."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

import jobs.webhooks.delivery
from jobs.webhooks.delivery import (
    BACKOFF_CAP_S,
    MAX_DELIVERY_ATTEMPTS,
    WebhookSpec,
    backoff_s,
    generate_secret,
    message_id,
    sign,
    webhook_payload,
)

ROOT = Path(__file__).resolve().parents[2]


def test_sign_matches_the_standard_webhooks_test_vector() -> None:
    """The vector of the reference libraries (checked against `standardwebhooks` 1.1.0)."""
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_sign_agrees_with_the_reference_library_on_any_secret_and_body() -> None:
    secret = generate_secret()
    body = webhook_payload("a" * 32, "completed", {"summary": "Grüße ✓", "n": 1}, 1_700_000_000_123)
    reference = Webhook(secret).sign("msg_x", datetime.fromtimestamp(1_700_000_000, UTC), body.decode())
    assert sign(secret, "msg_x", 1_700_000_000, body) == reference


def test_generated_secrets_are_valid_fresh_and_32_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    WebhookSpec(url="https://example.com/hook", secret=first)


def test_payload_is_compact_json_with_type_timestamp_and_data() -> None:
    body = webhook_payload(
        "f" * 32, "completed", {"summary": "ok", "result_url": "/jobs/x/result", "ts": 1}, 1_732_451_234_567
    )
    assert b" " not in body
    assert orjson.loads(body) == {
        "type": "job.completed",
        "timestamp": "2024-11-24T12:27:14.567Z",
        "data": {"job_id": "f" * 32, "summary": "ok", "result_url": "/jobs/x/result", "ts": 1},
    }


def test_the_data_cannot_speak_for_another_job() -> None:
    body = orjson.loads(webhook_payload("mine", "failed", {"job_id": "theirs", "code": "x"}, 0))
    assert body["data"] == {"job_id": "mine", "code": "x"}
    assert body["timestamp"] == "1970-01-01T00:00:00.000Z"


def test_payload_refuses_an_event_type_clients_cannot_choose() -> None:
    with pytest.raises(ValueError, match="resync"):
        webhook_payload("a", "resync", {}, 0)


def test_message_id_is_stable_per_event_and_free_of_dots() -> None:
    assert message_id("ab12", "1732451234567-0") == "msg_ab12_1732451234567-0"
    assert message_id("ab12", "1732451234567-0") == message_id("ab12", "1732451234567-0")
    assert message_id("ab12", "1732451234567-1") != message_id("ab12", "1732451234567-0")
    # "." delimits the signed content ({id}.{timestamp}.{body}); the spec forbids it in ids.
    for job_id, event_id in [("a.b", "1-0"), ("ab", "1.0"), ("", "1-0"), ("ab", "1-0 x")]:
        with pytest.raises(ValueError):
            message_id(job_id, event_id)


def test_backoff_doubles_from_one_second_with_jitter_and_a_cap() -> None:
    assert MAX_DELIVERY_ATTEMPTS >= 6  # the first attempt and at least 5 retries
    for attempt in range(1, 40):
        nominal = min(2.0 ** (attempt - 1), BACKOFF_CAP_S)
        for _ in range(50):
            delay = backoff_s(attempt)
            assert 0.8 * nominal <= delay <= min(1.2 * nominal, BACKOFF_CAP_S)
    with pytest.raises(ValueError):
        backoff_s(0)


def test_the_whole_schedule_spans_minutes_not_seconds() -> None:
    nominal = sum(min(2.0 ** (attempt - 1), BACKOFF_CAP_S) for attempt in range(1, MAX_DELIVERY_ATTEMPTS))
    assert 20 * 60 <= nominal <= 40 * 60  # the docstring promises about 27 minutes


def test_public_names_do_not_drift() -> None:
    assert jobs.webhooks.delivery.__all__ == sorted(jobs.webhooks.delivery.__all__)
    assert jobs.webhooks.delivery.__all__ == [
        "BACKOFF_CAP_S",
        "DEFAULT_EVENTS",
        "DELIVERY_TIMEOUT_S",
        "MAX_DELIVERY_ATTEMPTS",
        "RESPONSE_PREVIEW_BYTES",
        "WEBHOOK_EVENTS",
        "WebhookDeliveryError",
        "WebhookEvent",
        "WebhookSpec",
        "backoff_s",
        "deliver_once",
        "deliver_webhook",
        "generate_secret",
        "message_id",
        "sign",
        "webhook_client",
        "webhook_payload",
    ]
    for name in jobs.webhooks.delivery.__all__:
        assert getattr(jobs.webhooks.delivery, name) is not None


def test_importing_the_module_loads_neither_arq_nor_the_fetcher() -> None:
    """The request models (and so the SDK) may import WebhookSpec: that must stay light."""
    check = (
        "import jobs.webhooks.delivery, sys; "
        "heavy = {'arq', 'redis', 'starlette', 'uvicorn'}; "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith('jobs.fetch')); "
        "assert not loaded, loaded"
    )
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
