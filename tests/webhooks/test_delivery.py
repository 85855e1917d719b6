"""Deliveries to real loopback receivers: signing, retries, and receivers that misbehave."""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from arq.worker import Retry

from jobs.webhooks.delivery import (
    BACKOFF_CAP_S,
    MAX_DELIVERY_ATTEMPTS,
    WebhookDeliveryError,
    deliver_event,
    deliver_once,
    redelivery_delay_s,
)
from jobs.webhooks.signing import message_id
from tests.support.listeners import Canary, free_port
from tests.support.raw_http import HTTPServer, Request, head, reply

from .conftest import ClientFactory
from .receiver import Receiver

JOB_ID = "0123456789abcdef0123456789abcdef"
EVENT_ID = "1732451234567-0"


def ctx_for(client: Any, job_try: int) -> tuple[Any, int]:
    """What the worker's job function hands `deliver_event`: its client and arq's try number."""
    return client, job_try


async def completed(attempt: tuple[Any, int], receiver: Receiver, secret: str, **data: Any) -> str:
    data = {"summary": "1 page", "result_url": f"/jobs/{JOB_ID}/result", **data}
    return await deliver_event(*attempt, JOB_ID, EVENT_ID, "completed", data, receiver.url, secret)


@pytest.fixture
async def raw_server() -> AsyncIterator[HTTPServer]:
    srv = await HTTPServer().start()
    yield srv
    await srv.close()


async def test_a_delivery_is_signed_and_verifies_with_the_reference_library(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    assert await completed(ctx_for(make_client(), 1), receiver, secret, ts=1_732_451_234_567) == "delivered"
    (delivery,) = receiver.deliveries
    assert delivery.verified, delivery.problem
    assert delivery.id == message_id(JOB_ID, EVENT_ID)
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["user-agent"] == "scrapestream-tests"
    assert orjson.loads(delivery.body) == {
        "type": "job.completed",
        "timestamp": "2024-11-24T12:27:14.567Z",
        "data": {
            "job_id": JOB_ID, "summary": "1 page", "result_url": f"/jobs/{JOB_ID}/result", "ts": 1_732_451_234_567,
        },
    }


async def test_a_failed_delivery_is_retried_with_the_same_id_and_a_fresh_timestamp(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    """The payload says when the event happened; the header says when this attempt was made."""
    receiver.answers = [(500, {})]
    client = make_client()
    an_hour_ago_ms = (int(time.time()) - 3600) * 1000
    before = int(time.time())

    with pytest.raises(Retry) as first:
        await completed(ctx_for(client, 1), receiver, secret, ts=an_hour_ago_ms)
    assert first.value.defer_score is not None and 800 <= first.value.defer_score <= 1200
    assert await completed(ctx_for(client, 2), receiver, secret, ts=an_hour_ago_ms) == "delivered"

    after = int(time.time())
    assert len(receiver.deliveries) == 2
    assert all(d.verified for d in receiver.deliveries), [d.problem for d in receiver.deliveries]
    one, two = receiver.deliveries
    assert one.id == two.id == message_id(JOB_ID, EVENT_ID)
    assert one.body == two.body
    assert before <= one.timestamp <= two.timestamp <= after
    # The event is an hour old, yet both verified (the reference allows 5 minutes of skew).
    hour_ago = datetime.fromtimestamp(an_hour_ago_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert orjson.loads(two.body)["timestamp"] == hour_ago


async def test_without_ts_the_event_time_comes_from_the_stream_id(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    assert await completed(ctx_for(make_client(), 1), receiver, secret) == "delivered"
    assert orjson.loads(receiver.deliveries[0].body)["timestamp"] == "2024-11-24T12:27:14.567Z"


async def test_the_last_attempt_gives_up_instead_of_retrying(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    receiver.answers = [(503, {})]
    assert await completed(ctx_for(make_client(), MAX_DELIVERY_ATTEMPTS), receiver, secret) == "failed"
    assert len(receiver.deliveries) == 1


async def test_410_gone_stops_at_once(receiver: Receiver, secret: str, make_client: ClientFactory) -> None:
    """Standard Webhooks: 410 means the receiver wants no more; retrying would be rude."""
    receiver.answers = [(410, {})]
    assert await completed(ctx_for(make_client(), 1), receiver, secret) == "failed"
    assert len(receiver.deliveries) == 1


@pytest.mark.parametrize("status", [400, 401, 404, 408, 429, 500, 502, 504])
async def test_any_other_non_2xx_is_retried(
    status: int, receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    receiver.answers = [(status, {})]
    with pytest.raises(Retry):
        await completed(ctx_for(make_client(), 1), receiver, secret)


async def test_a_longer_retry_after_is_honoured_up_to_the_cap(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    receiver.answers = [(429, {"Retry-After": "120"}), (503, {"Retry-After": "86400"})]
    client = make_client()
    with pytest.raises(Retry) as polite:
        await completed(ctx_for(client, 1), receiver, secret)
    assert polite.value.defer_score == 120_000
    with pytest.raises(Retry) as capped:
        await completed(ctx_for(client, 2), receiver, secret)
    assert capped.value.defer_score == BACKOFF_CAP_S * 1000


def test_the_redelivery_delay_doubles_from_one_second_with_jitter_and_a_cap() -> None:
    assert MAX_DELIVERY_ATTEMPTS >= 6  # the first attempt and at least 5 retries
    for attempt in range(1, 40):
        nominal = min(2.0 ** (attempt - 1), BACKOFF_CAP_S)
        for _ in range(50):
            delay = redelivery_delay_s(attempt)
            assert 0.8 * nominal <= delay <= min(1.2 * nominal, BACKOFF_CAP_S)
    with pytest.raises(ValueError):
        redelivery_delay_s(0)


def test_the_whole_schedule_spans_minutes_not_seconds() -> None:
    nominal = sum(min(2.0 ** (attempt - 1), BACKOFF_CAP_S) for attempt in range(1, MAX_DELIVERY_ATTEMPTS))
    assert 20 * 60 <= nominal <= 40 * 60  # README promises about 27 minutes


@pytest.mark.parametrize(
    "retry_after",
    ["\u00b2", "-1", "1e3", "1.5", "soon", "Sun, 06 Nov 1994 08:49:37 GMT"],
)
async def test_an_unusable_or_past_retry_after_falls_back_to_the_backoff(
    retry_after: str, receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    """`Retry-After: \u00b2` passed str.isdigit() and then broke float(): delivery stopped after one attempt."""
    receiver.answers = [(503, {"Retry-After": retry_after})]
    with pytest.raises(Retry) as retried:
        await completed(ctx_for(make_client(), 1), receiver, secret)
    assert retried.value.defer_score is not None
    assert 800 <= retried.value.defer_score <= 1200  # the first backoff step: 1 s ± 20 %


async def test_a_retry_after_date_is_honoured_up_to_the_cap(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    next_week = email.utils.formatdate(time.time() + 7 * 86_400, usegmt=True)
    receiver.answers = [(503, {"Retry-After": next_week})]
    with pytest.raises(Retry) as retried:
        await completed(ctx_for(make_client(), 1), receiver, secret)
    assert retried.value.defer_score == BACKOFF_CAP_S * 1000


async def test_the_error_names_the_status_and_the_start_of_the_answer(
    receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    receiver.answers = [(500, {})]
    with pytest.raises(WebhookDeliveryError) as info:
        await deliver_once(make_client(), receiver.url + "?token=private", secret, "msg_1", b"{}")
    error = info.value
    assert (error.status, error.code, error.retryable) == (500, "http_status", True)
    assert error.message == f"the webhook receiver at {receiver.url} answered 500 Internal Server Error: nope"
    assert "private" not in str(error)  # the query may hold the receiver's own credentials


async def test_redirects_are_failures_and_never_followed(
    raw_server: HTTPServer, canary: Canary, secret: str, make_client: ClientFactory
) -> None:
    raw_server.routes["/hook"] = reply("307 Temporary Redirect", headers=[("Location", f"http://127.0.0.1:{canary.port}/")])
    with pytest.raises(WebhookDeliveryError, match="redirects are not followed") as info:
        await deliver_once(make_client(), raw_server.url("/hook"), secret, "msg_1", b"{}")
    assert (info.value.status, info.value.retryable) == (307, True)
    assert canary.contacted() == 0


async def test_an_endless_answer_is_not_read(raw_server: HTTPServer, secret: str, make_client: ClientFactory) -> None:
    """A 200 followed by a body that never ends: delivered, and only a few KiB of it read."""
    megabyte = b"x" * 1024 * 1024
    sent_mb = 0

    async def endless(request: Request, writer: asyncio.StreamWriter) -> bool:
        nonlocal sent_mb
        writer.write(head("200 OK", [("Content-Type", "text/plain"), ("Connection", "close")]))
        for _ in range(10_000):  # 10 GB: a client that read on would give up at its deadline, undelivered
            writer.write(megabyte)
            await writer.drain()
            sent_mb += 1
        return False

    raw_server.routes["/hook"] = endless
    await deliver_once(make_client(), raw_server.url("/hook"), secret, "msg_1", b"{}")  # delivered: no error
    # The receiver gets out only what the loopback socket buffers hold (a few MiB) before the client hangs up.
    assert 1 <= sent_mb <= 32


async def test_a_receiver_that_never_answers_times_out_and_is_retried(
    raw_server: HTTPServer, secret: str, make_client: ClientFactory
) -> None:
    async def silent(request: Request, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(3600)
        return False

    raw_server.routes["/hook"] = silent
    with pytest.raises(WebhookDeliveryError, match=r"did not finish within 0\.2 s") as info:
        await deliver_once(make_client(), raw_server.url("/hook"), secret, "msg_1", b"{}", timeout_s=0.2)
    assert (info.value.code, info.value.retryable, info.value.status) == ("fetch_timeout", True, None)


async def test_a_refused_connection_is_retried(secret: str, make_client: ClientFactory) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(WebhookDeliveryError, match="could not connect") as info:
        await deliver_once(make_client(), url, secret, "msg_1", b"{}")
    assert (info.value.code, info.value.retryable) == ("fetch_error", True)
    with pytest.raises(Retry):
        await deliver_event(make_client(), 1, JOB_ID, EVENT_ID, "failed", {"code": "x"}, url, secret)
