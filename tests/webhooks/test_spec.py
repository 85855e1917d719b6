"""WebhookSpec: what a client may put under "webhook" in a job request."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from jobs.models import WebhookSpec
from jobs.webhooks.signing import generate_secret

GOOD_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _b64(n: int) -> str:
    return base64.b64encode(bytes(range(n))).decode()


def test_defaults_to_the_terminal_events() -> None:
    spec = WebhookSpec(url="https://hooks.example.com/scrapestream", secret=GOOD_SECRET)
    assert spec.events == ("changed", "completed", "failed", "cancelled")
    assert spec.wants("completed") and spec.wants("failed") and spec.wants("cancelled")
    assert not spec.wants("progress") and not spec.wants("job.completed")


def test_events_are_deduplicated_in_the_order_given() -> None:
    spec = WebhookSpec.model_validate(
        {"url": "http://hooks.example.com/", "secret": GOOD_SECRET, "events": ["page", "completed", "page"]}
    )
    assert spec.events == ("page", "completed")
    assert spec.wants("page") and not spec.wants("failed")


@pytest.mark.parametrize(
    "secret",
    [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # no prefix
        "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # an asymmetric key's prefix
        "whsec_",
        "whsec_MfKQ9r8G*KYqrTwjUPD8ILPZIo2LaLaSw",  # not base64
        "whsec_MfKQ9r8G KYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_" + _b64(16),  # too short: the spec asks for at least 24 bytes
        "whsec_" + _b64(23),
        "whsec_" + _b64(65),  # and at most 512 bits
    ],
)
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ValidationError) as info:
        WebhookSpec(url="https://hooks.example.com/", secret=secret)
    (error,) = info.value.errors()
    assert error["loc"] == ("secret",)


@pytest.mark.parametrize("secret", ["whsec_" + _b64(24), "whsec_" + _b64(64), "whsec_" + _b64(32).rstrip("=")])
def test_secrets_of_24_to_64_bytes_are_accepted_padded_or_not(secret: str) -> None:
    assert WebhookSpec(url="https://hooks.example.com/", secret=secret).secret == secret


def test_the_secret_never_shows_in_repr_or_validation_errors() -> None:
    secret = generate_secret()
    assert secret not in repr(WebhookSpec(url="https://hooks.example.com/", secret=secret))
    with pytest.raises(ValidationError) as info:
        WebhookSpec(url="ftp://hooks.example.com/", secret=secret + "*")
    assert secret not in str(info.value)
    assert "Value error, the part after 'whsec_' must be standard base64" in str(info.value)


@pytest.mark.parametrize(
    "events", [["resync"], ["job.completed"], ["COMPLETED"], ["completed", "nope"], [], "completed"]
)
def test_unknown_events_are_refused(events: object) -> None:
    with pytest.raises(ValidationError) as info:
        WebhookSpec.model_validate({"url": "https://hooks.example.com/", "secret": GOOD_SECRET, "events": events})
    assert {error["loc"][0] for error in info.value.errors()} == {"events"}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example.com/", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("/relative/hook", "http:// or https://"),
        ("http://", "no host"),
        ("https:///path", "no host"),
        ("http://user:pw@hooks.example.com/", "credentials"),
        ("http://hooks.example.com:99999/", "not a valid URL"),
        ("http://hooks.example.com:0/", "no usable port"),
        ("http://hooks.exa mple.com/", "spaces or control"),
        ("http://hooks.example.com/\r\nX-Injected: 1", "spaces or control"),
        ("https://hooks.example.com/" + "a" * 2048, "at most 2048"),
        ("", "at least 1"),
    ],
)
def test_urls_that_are_not_plain_http_are_refused(url: str, why: str) -> None:
    with pytest.raises(ValidationError, match=why) as info:
        WebhookSpec(url=url, secret=GOOD_SECRET)
    (error,) = info.value.errors()
    assert error["loc"] == ("url",)


def test_https_with_a_port_and_a_query_is_fine() -> None:
    url = "HTTPS://hooks.example.com:8443/in?token=abc"
    assert WebhookSpec(url=url, secret=GOOD_SECRET).url == url


def test_unknown_fields_are_refused_and_the_spec_is_immutable() -> None:
    with pytest.raises(ValidationError, match="extra"):
        WebhookSpec.model_validate({"url": "https://h.example/", "secret": GOOD_SECRET, "event": ["completed"]})
    spec = WebhookSpec(url="https://h.example/", secret=GOOD_SECRET)
    with pytest.raises(ValidationError):
        spec.url = "https://elsewhere.example/"  # type: ignore[misc]
    assert hash(spec) == hash(WebhookSpec(url="https://h.example/", secret=GOOD_SECRET))
