"""`GET /events`: every job of the caller, live and resumable, and the `queue` numbers while someone follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from service.apikeys import create_key
from service.client import Client, JobEvent
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.sse import iter_frames, sse_lines
from tests.support.stack import Stack, running_stack

# A safety net only: every wait below ends on an event.
SAFETY_S = 30


@contextlib.asynccontextmanager
async def following(stack: Stack, path: str = "/events",
                    headers: dict[str, str] | None = None) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """The activity stream, open (its start is settled once the headers are in), as parsed frames."""
    async with stack.client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        assert response.headers["content-type"].startswith("text/event-stream")
        yield iter_frames(response)


async def frames_until(frames: AsyncIterator[dict[str, Any]], done: Any) -> list[dict[str, Any]]:
    """Job frames (not `queue`) until `done(collected)` holds."""
    collected: list[dict[str, Any]] = []

    async def read() -> None:
        async for frame in frames:
            if frame.get("event") == "queue":
                continue
            collected.append({**frame, "data": orjson.loads(frame["data"])})
            if done(collected):
                return

    await asyncio.wait_for(read(), SAFETY_S)
    return collected


def ended(job_id: str) -> Any:
    return lambda got: any(f["data"]["id"] == job_id and f["event"] in ("completed", "failed") for f in got)


async def test_a_job_submitted_through_the_api_appears_live_with_its_url(stack: Stack, site: str) -> None:
    url = f"{site}/plain"
    async with following(stack) as frames:
        job = await stack.submit({"type": "scrape", "url": url})
        got = await frames_until(frames, ended(job["id"]))
    assert [f["event"] for f in got] == ["queued", "started", "completed"]
    assert all(f["data"]["id"] == job["id"] and f["data"]["url"] == url and f["data"]["type"] == "scrape"
               for f in got)
    assert [f["data"]["status"] for f in got] == ["queued", "running", "completed"]
    done = got[-1]["data"]
    assert done["percent"] == 100 and done["attempt"] == 1 and done["error"] is None
    assert done["created_at"] and done["started_at"] and done["finished_at"]
    # The entry id is the SSE id, as on a job's own stream.
    assert all(f["id"] for f in got) and len({f["id"] for f in got}) == 3


async def test_a_failure_carries_its_error(stack: Stack, site: str) -> None:
    async with following(stack) as frames:
        job = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
        got = await frames_until(frames, ended(job["id"]))
    assert got[-1]["event"] == "failed"
    assert got[-1]["data"]["status"] == "failed" and got[-1]["data"]["error"]["code"] == "http_status"


async def test_another_keys_jobs_never_appear(settings: WebSettings, site: str) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True})) as stack:
        keys = Keyspace(settings.key_prefix)
        _a, secret_a = await create_key(stack.state.redis, keys, "a")
        _b, secret_b = await create_key(stack.state.redis, keys, "b")
        a = {"Authorization": f"Bearer {secret_a}"}
        b = {"Authorization": f"Bearer {secret_b}"}
        assert (await stack.client.get("/events")).status_code == 401
        async with following(stack, headers=a) as frames:
            theirs = await stack.submit({"type": "scrape", "url": f"{site}/plain?b"}, headers=b)
            await stack.wait_terminal_as(theirs["id"], b)
            mine = await stack.submit({"type": "scrape", "url": f"{site}/plain?a"}, headers=a)
            got = await frames_until(frames, ended(mine["id"]))
    assert {f["data"]["id"] for f in got} == {mine["id"]}


async def test_resuming_with_last_event_id_misses_nothing_and_repeats_nothing(stack: Stack, site: str) -> None:
    jobs = [await stack.submit({"type": "scrape", "url": f"{site}/plain?n={n}"}) for n in range(3)]
    for job in jobs:
        await stack.wait_terminal(job["id"])
    async with following(stack, "/events?last_event_id=0") as frames:
        everything = await frames_until(frames, lambda got: len(got) == 9)
    assert sorted(f["event"] for f in everything) == sorted(["queued", "started", "completed"] * 3)
    ids = [f["id"] for f in everything]
    for cut in (1, 4, 7):
        async with following(stack, headers={"Last-Event-ID": ids[cut]}) as frames:
            want = len(ids) - cut - 1
            rest = await frames_until(frames, lambda got, want=want: len(got) == want)
        assert [f["id"] for f in rest] == ids[cut + 1:]
        # Live ones follow the replay without a gap or a repeat.
        async with following(stack, f"/events?last_event_id={ids[cut]}") as frames:
            job = await stack.submit({"type": "scrape", "url": f"{site}/plain?more={cut}"})
            resumed = await frames_until(frames, ended(job["id"]))
        assert [f["id"] for f in resumed][: len(ids) - cut - 1] == ids[cut + 1:]
        assert [f["event"] for f in resumed[len(ids) - cut - 1:]] == ["queued", "started", "completed"]
        ids += [f["id"] for f in resumed[len(ids) - cut - 1:]]


async def test_trimmed_history_is_announced_with_resync(stack: Stack) -> None:
    await stack.state.redis.xadd(stack.state.keys.owner_activity("public"), {"type": "queued", "data": "{}"})
    async with stack.client.stream("GET", "/events", headers={"Last-Event-ID": "1-0"}) as response:
        first = await asyncio.wait_for(anext(iter_frames(response)), SAFETY_S)
    assert first["event"] == "resync" and "id" not in first


async def test_the_link_token_opens_the_owners_activity_and_nothing_else(settings: WebSettings, site: str) -> None:
    async with running_stack(settings.model_copy(update={"auth_required": True})) as stack:
        _a, secret = await create_key(stack.state.redis, Keyspace(settings.key_prefix), "a")
        key = {"Authorization": f"Bearer {secret}"}
        link = (await stack.client.get("/events/link", headers=key)).json()
        assert link["url"].startswith("/events?token=")
        async with following(stack, link["url"]) as frames:
            job = await stack.submit({"type": "scrape", "url": f"{site}/plain"}, headers=key)
            got = await frames_until(frames, ended(job["id"]))
        assert {f["data"]["id"] for f in got} == {job["id"]}
        token = link["url"].split("token=", 1)[1]
        owner, _, rest = token.partition(".")
        for forged in (f"public.{rest}", f"{owner}.{rest[:-2]}xx", "nonsense"):
            assert (await stack.client.get(f"/events?token={forged}")).status_code == 401
        # The token opens no job (job links have tokens of their own).
        assert (await stack.client.get(f"/jobs/{job['id']}/events?token={rest}")).status_code == 404


async def test_a_queue_event_carries_the_queue_numbers(settings: WebSettings, site: str) -> None:
    async with running_stack(settings.model_copy(update={"activity_queue_every_s": 0.2})) as stack:
        async with following(stack) as frames:

            async def first_queue_event() -> dict[str, Any]:
                async for frame in frames:
                    if frame.get("event") == "queue":
                        return frame
                raise AssertionError("the stream ended")

            frame = await asyncio.wait_for(first_queue_event(), SAFETY_S)
        queue = (await stack.client.get("/queue")).json()
    numbers = orjson.loads(frame["data"])
    assert "id" not in frame  # not an entry: resuming goes on from the last job event
    assert set(queue) <= set(numbers) and numbers["queued"]["total"] == 0 and numbers["workers"] == 1


async def test_the_sdk_follows_activity_and_resumes_after_an_id(stack: Stack, site: str) -> None:
    async with Client(stack.base_url) as client:
        first = await stack.submit({"type": "scrape", "url": f"{site}/plain?sdk=1"})
        await stack.wait_terminal(first["id"])
        seen: list[JobEvent] = []

        async def read(after: str) -> None:
            async with contextlib.aclosing(client.activity(after=after)) as events:
                async for event in events:
                    seen.append(event)
                    if event.type == "completed":
                        return

        await asyncio.wait_for(read("0"), SAFETY_S)
        assert [e.type for e in seen] == ["queued", "started", "completed"]
        assert seen[-1].data["url"] == f"{site}/plain?sdk=1"
        queued_id = seen[0].id
        assert queued_id is not None
        seen.clear()
        await asyncio.wait_for(read(queued_id), SAFETY_S)
        assert [e.type for e in seen] == ["started", "completed"]
        assert await client.delete([first["id"]]) == [first["id"]]
    assert (await stack.client.get(f"/jobs/{first['id']}")).status_code == 404


async def position_frame(response: httpx.Response) -> list[str]:
    """The lines of the first frame that is not the `retry:` hint every stream opens with."""
    lines: list[str] = []
    async for line in sse_lines(response):
        if line:
            lines.append(line)
        elif lines and not all(field.startswith("retry:") for field in lines):
            return lines
        else:
            lines = []
    raise AssertionError("the stream ended")


async def test_a_follow_from_now_says_where_it_starts_so_a_reconnect_misses_nothing(
    stack: Stack, site: str
) -> None:
    activity = stack.state.keys.owner_activity("public")
    for expected_start in ("0-0", None):  # an empty stream, then one with a finished job in it
        async with stack.client.stream("GET", "/events") as response:
            first = await asyncio.wait_for(position_frame(response), SAFETY_S)
        newest = await stack.state.redis.xrevrange(activity, count=1)
        assert first == [f"id: {expected_start or newest[0][0].decode()}"]
        start = first[0].removeprefix("id: ")
        # Disconnected: a job runs from start to end before we come back.
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain?start={start}"})
        await stack.wait_terminal(job["id"])
        async with following(stack, headers={"Last-Event-ID": start}) as frames:
            got = await frames_until(frames, ended(job["id"]))
        assert [(f["event"], f["data"]["id"]) for f in got] == [
            ("queued", job["id"]), ("started", job["id"]), ("completed", job["id"])]
