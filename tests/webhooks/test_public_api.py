"""What the modules of jobs.webhooks export."""

from __future__ import annotations

import inspect
from types import ModuleType

import pytest

import jobs.webhooks.delivery
import jobs.webhooks.signing

PUBLIC_NAMES = {
    jobs.webhooks.signing: ["generate_secret", "message_id", "sign", "webhook_payload"],
    jobs.webhooks.delivery: [
        "BACKOFF_CAP_S",
        "DELIVERY_TIMEOUT_S",
        "MAX_DELIVERY_ATTEMPTS",
        "RESPONSE_PREVIEW_BYTES",
        "WebhookDeliveryError",
        "deliver_event",
        "deliver_once",
        "redelivery_delay_s",
        "webhook_client",
    ],
}


@pytest.mark.parametrize("module", list(PUBLIC_NAMES), ids=lambda module: module.__name__)
def test_public_names_do_not_drift(module: ModuleType) -> None:
    assert module.__all__ == PUBLIC_NAMES[module]
    assert module.__all__ == sorted(module.__all__)
    # Each module exports what it defines, not what it imports: a name has one home.
    homes = {name: getattr(module, name).__module__ for name in module.__all__
             if inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name))}
    assert homes == {name: module.__name__ for name in homes}

