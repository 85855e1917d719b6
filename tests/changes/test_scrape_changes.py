"""`track_changes` on a scrape: new, then same or changed against the last look by the same key.

A real stack (uvicorn, an arq worker, Redis), a loopback shop whose price a
test changes between runs, and a loopback webhook receiver that checks every
signature with the reference Standard Webhooks verifier.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
import pytest

from jobs.webhooks.signing import generate_secret
from service.apikeys import create_key
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.api.test_activity import following, frames_until
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack, running_stack
from tests.support.watched_site import Product, WatchedSite
from tests.webhooks.receiver import Receiver, serve_receiver

# A safety net only: every wait ends on an event (or a delivery).
SAFETY_S = 30


@pytest.fixture
def shop() -> Iterator[tuple[WatchedSite, str]]:
    site = WatchedSite({"kettle": Product("Steel kettle", 39.90), "teapot": Product("Teapot", 19.00)})
    with serve_in_thread(site.app()) as base_url:
        yield site, base_url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve_receiver(Receiver(generate_secret()))


@pytest.fixture
async def tracked_stack(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as stack:
        yield stack


async def run_tracked(stack: Stack, url: str, **options: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Submit a tracked scrape, follow it to its end; (its result, its events)."""
    job = await stack.submit({"type": "scrape", "url": url, "track_changes": True, **options})
    events = await asyncio.wait_for(stack.wait_terminal(job["id"]), SAFETY_S)
    assert events[-1]["type"] == "completed", events
    result = (await stack.client.get(f"/jobs/{job['id']}/result")).json()
    return {**result, "job_id": job["id"]}, events


async def delivered(receiver: Receiver, job_id: str, kind: str) -> list[dict[str, Any]]:
    """The bodies of `kind` deliveries for the job, once at least one came."""
    async with asyncio.timeout(SAFETY_S):
        while True:
            bodies = [orjson.loads(d.body) for d in receiver.deliveries if d.verified]
            mine = [b for b in bodies if b["data"]["job_id"] == job_id and b["type"] == kind]
            if mine:
                return mine
            await asyncio.sleep(0.02)


async def test_a_price_change_is_reported_published_and_delivered_signed(
    tracked_stack: Stack, shop: tuple[WatchedSite, str], receiver: Receiver
) -> None:
    site, base = shop
    url = f"{base}/p/kettle"
    hook = {"url": receiver.url, "secret": receiver.secret}

    first, first_events = await run_tracked(tracked_stack, url, webhook=hook)
    assert first["change"] == {"status": "new", "previous_job": None, "diff": None, "fields": {}}
    assert "changed" not in [e["type"] for e in first_events]

    async with following(tracked_stack) as activity:
        site.set("kettle", price=34.50, text="A sturdy thing, made to last. Now on sale!")
        second, events = await run_tracked(tracked_stack, url, webhook=hook)
        seen = await frames_until(activity, lambda got: any(
            f["data"]["id"] == second["job_id"] and f["event"] == "completed" for f in got))

    change = second["change"]
    assert change["status"] == "changed"
    assert change["previous_job"] == first["job_id"]
    assert change["fields"]["product.price"] == {"before": 39.9, "after": 34.5}
    assert "product.availability" not in change["fields"]
    assert "-Price: 39.90 EUR" in change["diff"] and "+Price: 34.50 EUR" in change["diff"]
    assert change["diff"].startswith(f"--- previous/{first['job_id']}\n+++ current\n")

    # On the job's stream: `changed` right before `completed`, with the page and its change.
    types = [e["type"] for e in events]
    assert types[-2:] == ["changed", "completed"]
    assert events[-2]["data"]["url"] == url and events[-2]["data"]["change"] == change
    assert events[-1]["data"]["summary"]["change"] == "changed"

    # On the owner's activity stream: the job's record, with what changed (the diff stays in the result).
    mine = [f for f in seen if f["data"]["id"] == second["job_id"]]
    assert [f["event"] for f in mine] == ["queued", "started", "changed", "completed"]
    echoed = mine[2]["data"]["change"]
    assert echoed["status"] == "changed" and echoed["url"] == url and echoed["previous_job"] == first["job_id"]
    assert echoed["fields"]["product.price"] == {"before": 39.9, "after": 34.5}
    assert "diff" not in echoed

    # A `job.changed` webhook, signed like the others (the receiver verified it).
    (body,) = await delivered(receiver, second["job_id"], "job.changed")
    assert body["data"]["url"] == url and body["data"]["change"] == change


async def test_an_unchanged_page_is_same_with_no_event_and_no_webhook(
    tracked_stack: Stack, shop: tuple[WatchedSite, str], receiver: Receiver
) -> None:
    _site, base = shop
    url = f"{base}/p/teapot"
    hook = {"url": receiver.url, "secret": receiver.secret}
    first, _ = await run_tracked(tracked_stack, url, webhook=hook)
    again, events = await run_tracked(tracked_stack, url, webhook=hook)
    assert again["change"] == {"status": "same", "previous_job": first["job_id"], "diff": None, "fields": {}}
    assert "changed" not in [e["type"] for e in events]
    assert events[-1]["data"]["summary"]["change"] == "same"
    await delivered(receiver, again["job_id"], "job.completed")
    bodies = [orjson.loads(d.body) for d in receiver.deliveries]
    assert not [b for b in bodies if b["type"] == "job.changed"]


async def test_whitespace_and_volatile_fields_do_not_count_as_a_change(
    tracked_stack: Stack, shop: tuple[WatchedSite, str]
) -> None:
    site, base = shop
    url = f"{base}/p/kettle"
    await run_tracked(tracked_stack, url)
    site.set("kettle", text="  A sturdy   thing,\n made to last.  ")
    again, _ = await run_tracked(tracked_stack, url)
    assert again["change"]["status"] == "same"


async def test_tracking_compares_markdown_and_product_but_shows_only_what_was_asked(
    tracked_stack: Stack, shop: tuple[WatchedSite, str]
) -> None:
    site, base = shop
    url = f"{base}/p/kettle"
    await run_tracked(tracked_stack, url, formats=["metadata"])
    site.set("kettle", availability="OutOfStock")
    second, _ = await run_tracked(tracked_stack, url, formats=["metadata"])
    assert second["markdown"] is None and second["product"] is None
    assert second["change"]["fields"] == {"product.availability": {"before": "InStock", "after": "OutOfStock"}}
    assert second["change"]["diff"] is None  # the text did not change
    # An untracked scrape of the same page carries no `change`, and moves no baseline.
    plain = await tracked_stack.submit({"type": "scrape", "url": url})
    await tracked_stack.wait_terminal(plain["id"])
    assert "change" not in (await tracked_stack.client.get(f"/jobs/{plain['id']}/result")).json()
    third, _ = await run_tracked(tracked_stack, url)
    assert third["change"]["status"] == "same" and third["change"]["previous_job"] == second["job_id"]


async def test_different_keys_never_see_each_others_previous_scrape(
    settings: WebSettings, shop: tuple[WatchedSite, str]
) -> None:
    _site, base = shop
    url = f"{base}/p/kettle"
    async with running_stack(settings.model_copy(update={"auth_required": True})) as stack:
        keys = Keyspace(settings.key_prefix)
        headers = []
        for name in ("a", "b"):
            _id, secret = await create_key(stack.state.redis, keys, name)
            headers.append({"Authorization": f"Bearer {secret}"})
        stack.client.headers.update(headers[0])
        a1, _ = await run_tracked(stack, url)
        a2, _ = await run_tracked(stack, url)
        stack.client.headers.update(headers[1])
        b1, _ = await run_tracked(stack, url)
    assert a1["change"]["status"] == "new"
    assert a2["change"]["status"] == "same" and a2["change"]["previous_job"] == a1["job_id"]
    assert b1["change"]["status"] == "new" and b1["change"]["previous_job"] is None
