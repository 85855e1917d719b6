"""Webhooks through the API: signed POSTs for the chosen events, retried with the same id."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from jobs.webhooks.signing import generate_secret
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack

SECRET = generate_secret()


class Receiver:
    """A loopback webhook endpoint: fails the first delivery of each message, then accepts."""

    def __init__(self) -> None:
        self.deliveries: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.startswith("webhook-")}
        try:
            Webhook(SECRET).verify(body, headers)
            valid = True
        except Exception:
            valid = False
        with self.lock:
            first = not any(d["id"] == headers.get("webhook-id") for d in self.deliveries)
            self.deliveries.append({"id": headers.get("webhook-id"), "valid": valid, "body": orjson.loads(body),
                                    "answered": 500 if first else 200})
        return PlainTextResponse("not now" if first else "ok", status_code=500 if first else 200)

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [d for d in self.deliveries if d["answered"] == 200]


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hook", rec.endpoint, methods=["POST"])])
    with serve_in_thread(app) as base:
        yield rec, f"{base}/hook"


async def until(condition: Any, timeout_s: float = 20) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110 - watching a receiver in another thread
            await asyncio.sleep(0.05)


async def test_terminal_event_is_delivered_signed_and_retried_with_the_same_id(
    stack: Stack, site: str, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "webhook": {"url": url, "secret": SECRET}})
    events = await stack.wait_terminal(job["id"])
    mine = lambda: [d for d in rec.deliveries if d["body"]["data"]["job_id"] == job["id"]]  # noqa: E731
    await until(lambda: any(d["answered"] == 200 for d in mine()))
    deliveries = mine()
    assert [d["answered"] for d in deliveries] == [500, 200]
    assert deliveries[0]["id"] == deliveries[1]["id"]  # the same webhook-id on the retry
    assert all(d["valid"] for d in deliveries)
    body = deliveries[1]["body"]
    assert body["type"] == "job.completed"
    assert body["data"]["summary"]["title"] == "Plain page"
    assert body["timestamp"].endswith("Z")
    assert events[-1]["type"] == "completed"


async def test_chosen_events_only(stack: Stack, site: str, receiver: tuple[Receiver, str]) -> None:
    rec, url = receiver
    hook = {"url": url, "secret": SECRET, "events": ["started", "completed"]}
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "webhook": hook})
    await stack.wait_terminal(job["id"])
    mine = lambda: [d for d in rec.accepted() if d["body"]["data"]["job_id"] == job["id"]]  # noqa: E731
    await until(lambda: len(mine()) == 2)
    assert sorted(d["body"]["type"] for d in mine()) == ["job.completed", "job.started"]


async def test_a_cancelled_job_sends_one_cancelled_and_nothing_after(
    stack: Stack, site: str, receiver: tuple[Receiver, str]
) -> None:
    rec, url = receiver
    hook = {"url": url, "secret": SECRET, "events": ["completed", "failed", "cancelled"]}
    job = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=2", "webhook": hook})
    await asyncio.sleep(0.3)
    assert (await stack.client.delete(f"/jobs/{job['id']}")).status_code == 202
    mine = lambda: [d for d in rec.accepted() if d["body"]["data"]["job_id"] == job["id"]]  # noqa: E731
    await until(lambda: len(mine()) == 1)
    await asyncio.sleep(3)  # the slow page has answered by now: nothing else may follow
    assert [d["body"]["type"] for d in mine()] == ["job.cancelled"]
    assert mine()[0]["body"]["data"]["by"] == "client"


async def test_webhook_urls_go_through_the_address_guard(stack: Stack, site: str) -> None:
    guarded = stack.settings.model_copy(update={"allow_private_addresses": "false"})
    from tests.support.stack import running_stack

    async with running_stack(guarded, workers=0) as strict:
        answer = await strict.client.post("/jobs", json={
            "type": "scrape", "url": "https://example.com/",
            "webhook": {"url": "http://169.254.169.254/latest", "secret": SECRET}})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "blocked_address"
    assert answer.json()["error"]["field"] == "webhook.url"
    bad_secret = await stack.client.post("/jobs", json={
        "type": "scrape", "url": f"{site}/plain", "webhook": {"url": "https://h.example/", "secret": "nope"}})
    assert bad_secret.status_code == 422 and bad_secret.json()["error"]["field"] == "webhook.secret"
