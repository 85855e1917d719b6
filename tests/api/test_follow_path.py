"""`GET /jobs/{id}/events` and `GET /events` are dispatched ahead of routing (a follower holds every
layer it went through for as long as it follows): what the router and its exception middleware did, they do.

Every other test of the route goes through it too; these pin what the dispatch could get wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from service.app import create_app
from service.settings import WebSettings
from tests.support.sse import read_sse
from tests.support.stack import Stack, running_stack

ALLOWED = "https://app.example"


@pytest.fixture
async def stack(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"cors_origins": [ALLOWED]}), workers=0) as stack:
        yield stack


async def submitted(stack: Stack) -> str:
    response = await stack.client.post("/jobs", json={"type": "scrape", "url": "https://example.com/",
                                                      "delay_s": 3600})
    assert response.status_code == 202, response.text
    job_id: str = response.json()["id"]
    return job_id


async def test_paths_that_are_not_one_jobs_events_are_routed_as_before(stack: Stack) -> None:
    job_id = await submitted(stack)
    for path in ("/jobs//events", f"/jobs/{job_id}/x/events", f"/api/jobs/{job_id}/events"):
        response = await stack.client.get(path)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), path
    other = await stack.client.post(f"/jobs/{job_id}/events")
    assert other.status_code == 405 and set(other.headers["allow"].split(", ")) == {"GET", "HEAD"}
    head = await stack.client.head(f"/jobs/{job_id}/events?format=json")
    assert head.status_code == 200


async def test_errors_are_the_api_errors_with_their_codes_and_cors(stack: Stack) -> None:
    job_id = await submitted(stack)
    origin = {"Origin": ALLOWED}
    unknown = await stack.client.get("/jobs/0123456789abcdef0123456789abcdef/events", headers=origin)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert unknown.headers["access-control-allow-origin"] == ALLOWED
    bad_id = await stack.client.get(f"/jobs/{job_id}/events", headers={**origin, "Last-Event-ID": "1-x"})
    assert (bad_id.status_code, bad_id.json()["error"]["code"]) == (400, "invalid_event_id")
    bad_format = await stack.client.get(f"/jobs/{job_id}/events?format=xml")
    assert (bad_format.status_code, bad_format.json()["error"]["field"]) == (422, "format")


async def test_it_streams_with_cors_and_answers_json_history(stack: Stack) -> None:
    job_id = await submitted(stack)
    history = await stack.client.get(f"/jobs/{job_id}/events?format=json")
    assert [event["type"] for event in history.json()] == ["queued"]
    assert (await stack.client.delete(f"/jobs/{job_id}")).status_code in (200, 202)
    async with stack.client.stream("GET", f"/jobs/{job_id}/events", headers={"Origin": ALLOWED}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["access-control-allow-origin"] == ALLOWED
    types = [event["type"] async for event in read_sse(stack.client, f"/jobs/{job_id}/events")]
    assert types == ["queued", "cancelled"]


async def test_behind_a_root_path_the_routed_events_answer_the_same(stack: Stack) -> None:
    """Under a root path the app's shortcut does not match: the route serves it, the same way."""
    job_id = await submitted(stack)
    app = create_app(stack.settings)
    transport = httpx.ASGITransport(app=app, root_path="/api")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            history = await client.get(f"/api/jobs/{job_id}/events?format=json")
            assert [event["type"] for event in history.json()] == ["queued"]
            bad_id = await client.get(f"/api/jobs/{job_id}/events?format=json", headers={"Last-Event-ID": "x"})
            assert (bad_id.status_code, bad_id.json()["error"]["code"]) == (400, "invalid_event_id")
    finally:
        await app.state.scrapestream.aclose()


async def test_the_activity_stream_answers_as_routed(stack: Stack) -> None:
    origin = {"Origin": ALLOWED}
    async with stack.client.stream("GET", "/events", headers=origin) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["access-control-allow-origin"] == ALLOWED
    bad_id = await stack.client.get("/events", headers={b"Origin": ALLOWED.encode(), b"Last-Event-ID": "²".encode()})
    assert (bad_id.status_code, bad_id.json()["error"]["code"]) == (400, "invalid_event_id")
    assert bad_id.headers["access-control-allow-origin"] == ALLOWED
    bad_token = await stack.client.get("/events?token=x.y")
    assert (bad_token.status_code, bad_token.json()["error"]["code"]) == (401, "unauthorized")
    other = await stack.client.post("/events")
    assert other.status_code == 405
