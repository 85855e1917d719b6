"""A schedule's history of changes: `GET /schedules/{id}/changes`, the SDK's `client.changes`, `scrapestream changes`.

Real schedules ticking every second (SCHEDULE_MIN_EVERY_S=1) on a real worker;
the test waits for runs and changes on the owner's activity stream, never on a clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from service.apikeys import create_key
from service.client import Client, NotFound
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.api.test_activity import following, frames_until
from tests.cli.conftest import run_cli
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack, running_stack
from tests.support.watched_site import Product, WatchedSite


@pytest.fixture
def shop() -> Iterator[tuple[WatchedSite, str]]:
    site = WatchedSite({"kettle": Product("Steel kettle", 39.90)})
    with serve_in_thread(site.app()) as base_url:
        yield site, base_url


@pytest.fixture
async def ticking(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"schedule_min_every_s": 1})) as stack:
        yield stack


def of_schedule(schedule_id: str, event: str) -> Any:
    """The activity frames of `event` of the schedule's runs, among those given."""
    return lambda got: [f for f in got if f["event"] == event and f["data"].get("schedule") == schedule_id]


async def test_a_watched_page_keeps_its_history_newest_first_with_diffs(
    ticking: Stack, shop: tuple[WatchedSite, str]
) -> None:
    site, base = shop
    url = f"{base}/p/kettle"
    async with following(ticking) as activity:
        made = await ticking.client.post("/schedules", json={"every_s": 1, "job": {"type": "scrape", "url": url}})
        assert made.status_code == 201, made.text
        schedule = made.json()["id"]
        completed = of_schedule(schedule, "completed")
        changed = of_schedule(schedule, "changed")
        got = await frames_until(activity, lambda got: len(completed(got)) >= 1)
        site.set("kettle", price=34.50)
        got += await frames_until(activity, lambda more: len(changed(got + more)) >= 1)
        site.set("kettle", availability="OutOfStock", text="Sold out, back soon.")
        got += await frames_until(activity, lambda more: len(changed(got + more)) >= 2)
        paused = await ticking.client.patch(f"/schedules/{schedule}", json={"paused": True})
        assert paused.status_code == 200, paused.text

    first, second = changed(got)[:2]
    assert first["data"]["change"]["fields"] == {"product.price": {"before": 39.9, "after": 34.5}}

    # Newest first, one page at a time, with the diffs: the two changes, then the first look.
    pages, cursor = [], None
    while True:
        answer = await ticking.client.get(f"/schedules/{schedule}/changes",
                                          params={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200, answer.text
        pages.append(answer.json()["changes"])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    entries = [entry for page in pages for entry in page]
    assert [len(page) for page in pages] == [1, 1, 1]
    assert [entry["status"] for entry in entries] == ["changed", "changed", "new"]
    assert [entry["job"] for entry in entries[:2]] == [second["data"]["id"], first["data"]["id"]]
    assert entries[0]["previous_job"] == entries[1]["job"] and entries[1]["previous_job"] == entries[2]["job"]
    assert all(entry["url"] == url for entry in entries)
    assert entries[0]["fields"] == {"product.availability": {"before": "InStock", "after": "OutOfStock"}}
    assert "+Sold out, back soon." in entries[0]["diff"].splitlines()
    assert entries[1]["fields"]["product.price"] == {"before": 39.9, "after": 34.5}
    assert "+Price: 34.50 EUR" in entries[1]["diff"].splitlines()
    assert entries[2]["diff"] is None and entries[2]["previous_job"] is None
    assert entries[0]["at"] >= entries[1]["at"] >= entries[2]["at"]

    # The SDK pages through the same history; the CLI prints it.
    async with Client(ticking.base_url) as client:
        through_sdk = [entry async for entry in client.changes(schedule, limit=2)]
    assert [(e.id, e.job, e.url, e.status, e.previous_job, e.diff, e.fields) for e in through_sdk] == [
        (e["id"], e["job"], e["url"], e["status"], e["previous_job"], e["diff"], e["fields"]) for e in entries]
    shown = await run_cli(["changes", schedule], ticking.base_url)
    assert shown.code == 0, shown.stderr
    assert shown.stdout.splitlines()[0].split()[2:4] == ["changed", url]
    assert "  product.availability: InStock → OutOfStock" in shown.stdout.splitlines()
    as_json = await run_cli(["changes", schedule, "--json", "--limit", "2"], ticking.base_url)
    assert as_json.json() == entries[:2]

    bad = await ticking.client.get(f"/schedules/{schedule}/changes", params={"cursor": "later"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"


async def test_another_keys_schedule_history_is_the_common_404(settings: WebSettings, site: str) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True, "schedule_min_every_s": 1}),
                             workers=0) as stack:
        keys = Keyspace(settings.key_prefix)
        _a, secret_a = await create_key(stack.state.redis, keys, "a")
        _b, secret_b = await create_key(stack.state.redis, keys, "b")
        a = {"Authorization": f"Bearer {secret_a}"}
        b = {"Authorization": f"Bearer {secret_b}"}
        made = await stack.client.post("/schedules", headers=a,
                                       json={"every_s": 3600, "job": {"type": "scrape", "url": f"{site}/plain"}})
        schedule = made.json()["id"]
        mine = await stack.client.get(f"/schedules/{schedule}/changes", headers=a)
        assert mine.status_code == 200 and mine.json() == {"changes": [], "next_cursor": None}
        theirs = await stack.client.get(f"/schedules/{schedule}/changes", headers=b)
        unknown = await stack.client.get(f"/schedules/s{'0' * 32}/changes", headers=b)
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json()["error"]["code"] == unknown.json()["error"]["code"] == "not_found"
        assert (await stack.client.get(f"/schedules/{schedule}/changes")).status_code == 401
        async with Client(stack.base_url, api_key=secret_b) as client:
            with pytest.raises(NotFound):
                [entry async for entry in client.changes(schedule)]


async def test_a_scheduled_crawl_records_each_page_in_the_schedules_history(
    ticking: Stack, shop: tuple[WatchedSite, str]
) -> None:
    _site, base = shop
    async with following(ticking) as activity:
        made = await ticking.client.post("/schedules", json={
            "every_s": 3600, "job": {"type": "crawl", "url": f"{base}/", "limit": 5}})
        assert made.status_code == 201, made.text
        schedule = made.json()["id"]
        got = await frames_until(activity, lambda got: len(of_schedule(schedule, "completed")(got)) >= 1)
    summary_job = of_schedule(schedule, "completed")(got)[0]["data"]["id"]
    history = (await ticking.client.get(f"/schedules/{schedule}/changes")).json()["changes"]
    assert sorted((entry["url"], entry["status"]) for entry in history) == [
        (f"{base}/", "new"), (f"{base}/p/kettle", "new")]
    assert {entry["job"] for entry in history} == {summary_job}
