"""What is signed and sent: the signature, the payload, the id (jobs.webhooks.signing)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import orjson
import pytest
from standardwebhooks.webhooks import Webhook

from jobs.models import WebhookSpec
from jobs.webhooks.signing import generate_secret, message_id, sign, webhook_payload


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
