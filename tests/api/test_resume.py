"""SSE resume: `Last-Event-ID` and `?last_event_id=` continue strictly after an id."""

from __future__ import annotations

import asyncio

from tests.support.sse import read_sse
from tests.support.stack import Stack, running_worker


async def test_reconnect_with_last_event_id_gets_exactly_the_rest(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=0.5"})
    path = f"/jobs/{job['id']}/events"
    first = [e async for e in read_sse(stack.client, path, limit=3)]  # then disconnect
    rest = [e async for e in read_sse(stack.client, path, headers={"Last-Event-ID": first[-1]["id"]})]
    history = (await stack.client.get(path, params={"format": "json"})).json()
    assert [e["id"] for e in first + rest] == [e["id"] for e in history]
    assert rest[-1]["type"] == "completed"


async def test_reconnect_with_query_parameter(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=0.5"})
    path = f"/jobs/{job['id']}/events"
    first = [e async for e in read_sse(stack.client, path, limit=2)]
    rest = [e async for e in read_sse(stack.client, f"{path}?last_event_id={first[-1]['id']}")]
    history = (await stack.client.get(path, params={"format": "json"})).json()
    assert [e["id"] for e in first + rest] == [e["id"] for e in history]


async def test_reconnect_after_the_terminal_event_gets_204(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    events = await stack.wait_terminal(job["id"])
    path = f"/jobs/{job['id']}/events"
    by_header = await stack.client.get(path, headers={"Last-Event-ID": events[-1]["id"]})
    by_query = await stack.client.get(path, params={"last_event_id": events[-1]["id"]})
    assert by_header.status_code == by_query.status_code == 204


async def test_stream_starts_with_a_retry_hint(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(job["id"])
    response = await stack.client.get(f"/jobs/{job['id']}/events")
    assert response.text.startswith(f"retry: {stack.settings.sse_retry_ms}\n")
    assert response.headers["cache-control"] == "no-store"


async def test_a_malformed_last_event_id_is_refused(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    response = await stack.client.get(f"/jobs/{job['id']}/events", headers={"Last-Event-ID": "nope"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_event_id"


async def test_followers_before_pickup_and_after_the_end_see_everything(
    idle_stack: Stack, site: str
) -> None:
    """One follower attaches while no worker runs; another after the job ended."""
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
    early = asyncio.create_task(idle_stack.wait_terminal(job["id"]))
    await asyncio.sleep(0.3)
    assert not early.done()
    async with running_worker(idle_stack.settings):
        early_events = await asyncio.wait_for(early, 30)
    late_events = await idle_stack.wait_terminal(job["id"])
    assert early_events == late_events
    assert [e["type"] for e in early_events][:2] == ["queued", "started"]
    assert early_events[-1]["type"] == "completed"


async def test_unknown_job_is_404_everywhere(stack: Stack) -> None:
    for method, path in [("GET", "/jobs/0123456789abcdef0123456789abcdef"),
                         ("GET", "/jobs/0123456789abcdef0123456789abcdef/events"),
                         ("GET", "/jobs/0123456789abcdef0123456789abcdef/result"),
                         ("DELETE", "/jobs/0123456789abcdef0123456789abcdef")]:
        response = await stack.client.request(method, path)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "not_found"
