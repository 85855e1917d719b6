"""Schedules through the HTTP API: runs as ordinary jobs, pause and resume, delete, checks, tenants, the cap.

Schedules tick every second here (SCHEDULE_MIN_EVERY_S=1); a test waits for runs on
the owner's activity stream (`tests.support.schedule_runs`), never on a clock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from service.apikeys import create_key, revoke_key
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.schedule_runs import RunWatch
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack, running_stack
from tests.support.watched_site import Product, WatchedSite


@pytest.fixture
async def ticking(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"schedule_min_every_s": 1})) as stack:
        yield stack


@pytest.fixture
def watch(ticking: Stack) -> RunWatch:
    return RunWatch(ticking.state.redis, ticking.state.keys)


async def make(stack: Stack, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await stack.client.post("/schedules", json=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/schedules/{response.json()['id']}"
    schedule: dict[str, Any] = response.json()
    return schedule


async def runs_of(stack: Stack, schedule_id: str, headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    response = await stack.client.get("/jobs", params={"schedule": schedule_id, "limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


async def test_each_tick_runs_the_job_as_an_ordinary_job_that_names_its_schedule(
        ticking: Stack, watch: RunWatch, site: str) -> None:
    page = f"{site}/pages/product_jsonld.html"
    schedule = await make(ticking, {"every_s": 1, "job": {"type": "scrape", "url": page}})
    assert schedule["every_s"] == 1 and schedule["paused"] is False
    assert len(schedule["next_runs"]) == 5 and schedule["next_runs"] == sorted(schedule["next_runs"])
    # Every scheduled scrape tracks changes.
    assert schedule["job"]["track_changes"] is True
    await watch.until(schedule["id"], 3)
    runs = await runs_of(ticking, schedule["id"])
    assert len(runs) >= 3
    assert {run["schedule"] for run in runs} == {schedule["id"]}
    ticks = [run["scheduled_for"] for run in runs]
    assert len(set(ticks)) == len(ticks)  # one run per tick
    assert all(run["options"]["track_changes"] is True for run in runs)
    first = runs[-1]
    events = await ticking.wait_terminal(first["id"])
    assert events[0]["type"] == "queued" and events[0]["data"]["schedule"] == schedule["id"]
    assert events[-1]["type"] == "completed"
    result = (await ticking.client.get(f"/jobs/{first['id']}/result")).json()
    assert result["product"]["name"]
    # Each run compares with the schedule's earlier runs: the page has not changed since the first.
    statuses = []
    for run in runs[-3:]:
        await ticking.wait_terminal(run["id"])
        statuses.append((await ticking.client.get(f"/jobs/{run['id']}/result")).json()["change"]["status"])
    assert set(statuses) <= {"new", "same"} and "same" in statuses
    # Runs of nothing else are listed, and other jobs are not runs.
    other = await ticking.submit({"type": "scrape", "url": f"{site}/plain"})
    assert other["id"] not in {run["id"] for run in await runs_of(ticking, schedule["id"])}
    assert (await ticking.client.get(f"/jobs/{other['id']}")).json()["schedule"] is None
    read = (await ticking.client.get(f"/schedules/{schedule['id']}")).json()
    assert read["runs"] >= 3
    assert read["last_run"]["job"] in {run["id"] for run in await runs_of(ticking, schedule["id"])}


async def test_a_price_watch_sees_the_price_move_and_the_schedule_shows_its_last_change(
        ticking: Stack, watch: RunWatch) -> None:
    shop = WatchedSite(products={"kettle": Product("Steel kettle", 39.9)})
    with serve_in_thread(shop.app()) as base:
        made = await make(ticking, {"every_s": 1, "job": {"url": f"{base}/p/kettle", "formats": ["product"]}})
        assert made["last_change"] is None
        await watch.until(made["id"], 1)
        first = (await runs_of(ticking, made["id"]))[-1]
        await ticking.wait_terminal(first["id"])  # the first look: the baseline the next runs compare with
        shop.set("kettle", price=29.9)
        changed_run = await watch.change(made["id"])
    result = (await ticking.client.get(f"/jobs/{changed_run}/result")).json()
    assert result["change"]["status"] == "changed"
    assert result["change"]["fields"]["product.price"] == {"before": 39.9, "after": 29.9}
    last_change = (await ticking.client.get(f"/schedules/{made['id']}")).json()["last_change"]
    assert last_change["job"] == changed_run and last_change["url"] == f"{base}/p/kettle"
    listed = (await ticking.client.get("/schedules")).json()["schedules"]
    assert [s["last_change"]["job"] for s in listed if s["id"] == made["id"]] == [changed_run]


async def test_a_paused_schedule_submits_nothing_until_resumed(ticking: Stack, watch: RunWatch, site: str) -> None:
    job = {"type": "scrape", "url": f"{site}/plain"}
    watched = await make(ticking, {"every_s": 1, "job": job})
    control = await make(ticking, {"every_s": 1, "job": job})
    await watch.until(watched["id"], 1)
    paused = await ticking.client.patch(f"/schedules/{watched['id']}", json={"paused": True})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["next_runs"] == []
    before = len(await runs_of(ticking, watched["id"]))
    # Three ticks of the other schedule go by: the paused one makes none.
    await watch.more(control["id"], 3)
    assert len(await runs_of(ticking, watched["id"])) == before
    resumed = await ticking.client.patch(f"/schedules/{watched['id']}", json={"paused": False})
    assert resumed.json()["paused"] is False and len(resumed.json()["next_runs"]) == 5
    await watch.more(watched["id"], 1)
    assert len(await runs_of(ticking, watched["id"])) > before


async def test_a_deleted_schedule_runs_no_more(ticking: Stack, watch: RunWatch, site: str) -> None:
    job = {"type": "scrape", "url": f"{site}/plain"}
    doomed = await make(ticking, {"every_s": 1, "job": job})
    control = await make(ticking, {"every_s": 1, "job": job})
    await watch.until(doomed["id"], 1)
    deleted = await ticking.client.delete(f"/schedules/{doomed['id']}")
    assert deleted.status_code == 204
    assert (await ticking.client.get(f"/schedules/{doomed['id']}")).status_code == 404
    assert (await ticking.client.delete(f"/schedules/{doomed['id']}")).status_code == 404
    runs = len(await runs_of(ticking, doomed["id"]))
    await watch.more(control["id"], 3)
    # Its past runs stay readable, as jobs of their own; no new one came.
    assert len(await runs_of(ticking, doomed["id"])) == runs
    assert [s["id"] for s in (await ticking.client.get("/schedules")).json()["schedules"]] == [control["id"]]


async def test_a_cron_schedule_in_a_zone_and_changes_to_its_cadence(ticking: Stack, watch: RunWatch,
                                                                     site: str) -> None:
    made = await make(ticking, {"cron": "* * * * * *", "timezone": "Europe/Paris", "jitter_s": 0,
                                "job": {"type": "scrape", "url": f"{site}/plain"}})
    assert (made["cron"], made["timezone"], made["every_s"]) == ("* * * * * *", "Europe/Paris", None)
    await watch.until(made["id"], 2)
    changed = await ticking.client.patch(f"/schedules/{made['id']}", json={"every_s": 3600, "jitter_s": 5})
    body = changed.json()
    assert (body["every_s"], body["cron"], body["timezone"], body["jitter_s"]) == (3600, None, "Europe/Paris", 5)
    assert (await ticking.client.patch(f"/schedules/{made['id']}", json={"cron": "0 9 * * MON-FRI"})).json()[
        "timezone"] == "Europe/Paris"
    bad = await ticking.client.patch(f"/schedules/{made['id']}", json={"every_s": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "every_s"
    nothing = await ticking.client.patch(f"/schedules/{made['id']}", json={})
    assert nothing.status_code == 422


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"cron": "61 * * * *"}, "cron", "validation_error"),
    ({"cron": "every day"}, "cron", "validation_error"),
    ({"cron": "*/15 * * * *", "timezone": "Mars/Olympus_Mons"}, "timezone", "validation_error"),
    ({"cron": "*/15 * * * *", "timezone": "../../etc/passwd"}, "timezone", "validation_error"),
    ({"every_s": 0}, "every_s", "validation_error"),
    ({"every_s": 1.5}, "every_s", "validation_error"),
    ({"every_s": 60, "cron": "* * * * *"}, None, "validation_error"),
    ({"every_s": 60, "jitter_s": -1}, "jitter_s", "validation_error"),
    ({"every_s": 60, "colour": "blue"}, "colour", "validation_error"),
])
async def test_bad_timing_is_a_422_naming_the_field(idle_stack: Stack, site: str, body: dict[str, Any],
                                                     field: str | None, code: str) -> None:
    response = await idle_stack.client.post("/schedules", json={**body, "job": {"url": f"{site}/plain"}})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == (code, field)


async def test_every_s_and_cron_are_held_to_the_floor(idle_stack: Stack, site: str) -> None:
    job = {"url": f"{site}/plain"}
    below = await idle_stack.client.post("/schedules", json={"every_s": 59, "job": job})
    assert below.status_code == 422 and below.json()["error"]["field"] == "every_s"
    assert "SCHEDULE_MIN_EVERY_S" in below.json()["error"]["message"]
    every_second = await idle_stack.client.post("/schedules", json={"cron": "* * * * * *", "job": job})
    assert every_second.status_code == 422 and every_second.json()["error"]["field"] == "cron"
    assert (await idle_stack.client.post("/schedules", json={"every_s": 60, "job": job})).status_code == 201
    assert (await idle_stack.client.post("/schedules", json={"cron": "*/15 * * * *", "job": job})).status_code == 201


@pytest.mark.parametrize(("job", "field", "code"), [
    ({"type": "scrape", "url": "ftp://example.com/"}, "job.url", "invalid_url"),
    ({"type": "scrape", "url": "http://example.com/", "formats": ["pdf"]}, "job.formats.0", "validation_error"),
    ({"type": "scrape", "url": "http://example.com/", "max_attempts": 50}, "job.max_attempts", "validation_error"),
    ({"type": "crawl", "url": "http://example.com/", "include_paths": ["(?=x)"]}, "job.include_paths.0",
     "validation_error"),
    ({"type": "batch", "urls": ["http://example.com/", "gopher://x/"]}, "job.urls.1", "invalid_url"),
    ({"type": "scrape", "url": "http://example.com/", "delay_s": 5}, "job.delay_s", "validation_error"),
    ({"type": "mine", "url": "http://example.com/"}, "job.type", "validation_error"),
    ({"type": "scrape", "url": "http://example.com/", "webhook": {"url": "http://example.com/h",
                                                                  "secret": "nope"}},
     "job.webhook.secret", "validation_error"),
])
async def test_the_job_is_checked_as_post_jobs_checks_it(idle_stack: Stack, job: dict[str, Any], field: str,
                                                         code: str) -> None:
    response = await idle_stack.client.post("/schedules", json={"every_s": 3600, "job": job})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["field"], error["code"]) == (field, code)
    assert error["message"].startswith(f"{field}: ")


async def test_a_webhook_secret_never_comes_back(idle_stack: Stack, site: str) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    made = await make(idle_stack, {"every_s": 3600, "job": {
        "url": f"{site}/plain", "webhook": {"url": "http://127.0.0.1:9/hook", "secret": secret}}})
    assert made["job"]["webhook"]["url"] == "http://127.0.0.1:9/hook" and "secret" not in made["job"]["webhook"]
    listed = (await idle_stack.client.get("/schedules")).text
    assert secret not in listed and secret not in (await idle_stack.client.get(f"/schedules/{made['id']}")).text


async def test_schedules_are_paged_newest_first(idle_stack: Stack, site: str) -> None:
    made = [await make(idle_stack, {"every_s": 3600, "job": {"url": f"{site}/plain"}}) for _ in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await idle_stack.client.get("/schedules", params=params)
        page = response.json()
        seen += [s["id"] for s in page["schedules"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["id"] for s in reversed(made)]
    assert (await idle_stack.client.get("/schedules", params={"cursor": "nope"})).status_code == 422
    assert (await idle_stack.client.get("/jobs", params={"schedule": "nope"})).json()["error"]["field"] == "schedule"


async def test_a_key_sees_only_its_own_schedules_and_has_a_cap(settings: WebSettings, site: str) -> None:
    secure = settings.model_copy(update={"auth_required": True, "schedules_per_key": 2})
    async with running_stack(secure, workers=0) as stack:
        keys = Keyspace(secure.key_prefix)
        alice = {"Authorization": f"Bearer {(await create_key(stack.state.redis, keys, 'alice'))[1]}"}
        bob = {"Authorization": f"Bearer {(await create_key(stack.state.redis, keys, 'bob'))[1]}"}
        job = {"every_s": 3600, "job": {"url": f"{site}/plain"}}
        assert (await stack.client.post("/schedules", json=job)).status_code == 401
        mine = await make(stack, job, alice)
        path = f"/schedules/{mine['id']}"
        # No key: 401 before any lookup, whether the schedule exists or not.
        assert (await stack.client.get(path)).status_code == 401
        assert (await stack.client.get("/schedules/s" + "0" * 32)).status_code == 401
        for method, kwargs in (("GET", {}), ("PATCH", {"json": {"paused": True}}), ("DELETE", {})):
            response = await stack.client.request(method, path, headers=bob, **kwargs)
            assert response.status_code == 404, (method, response.text)
            assert response.json()["error"]["code"] == "not_found"
        assert (await stack.client.get("/schedules", headers=bob)).json()["schedules"] == []
        assert [s["id"] for s in (await stack.client.get("/schedules", headers=alice)).json()["schedules"]] == [
            mine["id"]]
        assert (await stack.client.get(path, headers=alice)).json()["paused"] is False  # bob's PATCH did nothing
        # The cap: a third schedule of alice's is refused; bob still has room.
        await make(stack, job, alice)
        third = await stack.client.post("/schedules", json=job, headers=alice)
        assert third.status_code == 409 and third.json()["error"]["code"] == "too_many_schedules"
        await make(stack, job, bob)
        assert (await stack.client.delete(path, headers=alice)).status_code == 204
        await make(stack, job, alice)
        # A revoked key's schedules go with it: nothing runs in its name any more.
        assert await revoke_key(stack.state.redis, keys, "bob") != []
        due = await stack.state.redis.zrange(keys.schedules_due(), 0, -1)
        alices = {s["id"] for s in (await stack.client.get("/schedules", headers=alice)).json()["schedules"]}
        assert {member.decode() for member in due} == alices and len(alices) == 2
