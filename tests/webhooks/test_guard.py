"""Webhook URLs pass the same address guard as page fetches (SSRF)."""

from __future__ import annotations

import pytest

from jobs.fetch import AddressPolicy
from jobs.webhooks.delivery import WebhookDeliveryError, deliver_event, deliver_once
from tests.support.fake_dns import FakeDNS
from tests.support.listeners import Canary

from .conftest import ClientFactory
from .receiver import Receiver

JOB_ID = "0123456789abcdef0123456789abcdef"
PUBLIC_ONLY = AddressPolicy.from_setting("false", "80,443")


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/hook",
        "http://localhost:{port}/hook",
        "http://hooks.internal.example:{port}/hook",  # a public-looking name that resolves to loopback
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://2130706433:{port}/hook",
        "http://0x7f.1:{port}/hook",
    ],
)
async def test_a_refused_address_is_never_contacted_and_never_retried(
    template: str, canary: Canary, secret: str, make_client: ClientFactory
) -> None:
    dns = FakeDNS({"localhost": ["127.0.0.1"], "hooks.internal.example": ["127.0.0.1"]})
    client = make_client(PUBLIC_ONLY, resolver=dns)
    url = template.format(port=canary.port)
    # Not even a first retry: the guard's answer would be the same every time.
    assert await deliver_event(client, 1, JOB_ID, "1-0", "completed", {}, url, secret) == "failed"
    assert canary.contacted() == 0


async def test_the_refusal_says_what_was_refused_and_why(
    canary: Canary, secret: str, make_client: ClientFactory
) -> None:
    url = f"http://127.0.0.1:{canary.port}/hook?token=t"
    with pytest.raises(WebhookDeliveryError) as info:
        await deliver_once(make_client(PUBLIC_ONLY), url, secret, "msg_1", b"{}")
    error = info.value
    assert (error.code, error.retryable, error.status) == ("blocked_address", False, None)
    assert error.message == (
        f"not delivered to http://127.0.0.1:{canary.port}/hook: "
        "refused to contact 127.0.0.1 (a loopback address)"
    )
    assert canary.contacted() == 0


async def test_a_name_resolving_to_a_private_address_is_refused_by_name(
    canary: Canary, secret: str, make_client: ClientFactory
) -> None:
    dns = FakeDNS({"hooks.example.com": ["93.184.216.34", "10.0.0.7"]})  # one bad address refuses the host
    with pytest.raises(WebhookDeliveryError, match=r"refused to contact hooks\.example\.com: 10\.0\.0\.7"):
        await deliver_once(make_client(PUBLIC_ONLY, resolver=dns), "http://hooks.example.com/h", secret, "m", b"{}")
    assert canary.contacted() == 0


async def test_an_admitted_cidr_list_lets_deliveries_through(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    """ALLOW_PRIVATE_ADDRESSES=127.0.0.1/32: that address, on any port, as for pages."""
    client = make_client(AddressPolicy.from_setting("127.0.0.1/32", "80,443"))
    assert await deliver_event(client, 1, JOB_ID, "1-0", "completed", {}, receiver.url, secret) == "delivered"
    assert [d.verified for d in receiver.deliveries] == [True]


async def test_a_cidr_list_admits_only_what_it_lists(canary: Canary, secret: str, make_client: ClientFactory) -> None:
    client = make_client(AddressPolicy.from_setting("127.0.0.2/32,10.0.0.0/8", "80,443"))
    with pytest.raises(WebhookDeliveryError, match=r"refused to contact 127\.0\.0\.1 "):
        await deliver_once(client, f"http://127.0.0.1:{canary.port}/hook", secret, "msg_1", b"{}")
    assert canary.contacted() == 0


async def test_allow_private_true_still_refuses_cloud_metadata(secret: str, make_client: ClientFactory) -> None:
    client = make_client(AddressPolicy.from_setting("true", "*"))
    with pytest.raises(WebhookDeliveryError, match=r"refused to contact 169\.254\.169\.254") as info:
        await deliver_once(client, "http://169.254.169.254/latest/meta-data/", secret, "msg_1", b"{}")
    assert not info.value.retryable


async def test_a_url_the_client_cannot_use_is_not_retried(secret: str, make_client: ClientFactory) -> None:
    client = make_client()
    assert await deliver_event(client, 1, JOB_ID, "1-0", "completed", {}, "gopher://127.0.0.1/", secret) == "failed"
