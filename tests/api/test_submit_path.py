"""`POST /jobs` is a raw ASGI endpoint dispatched ahead of routing: what the routed endpoint did, it does.

Every other test of POST /jobs goes through it too (it is the only submit path);
these pin what a hand-written endpoint could get wrong that Starlette did for free.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from service.app import create_app
from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.stack import Stack, running_stack

ALLOWED = "https://app.example"
BODY = {"type": "scrape", "url": "https://example.com/"}


@pytest.fixture
async def open_stack(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"cors_origins": [ALLOWED], "max_body_bytes": 4096}),
                             workers=0) as stack:
        yield stack


@pytest.fixture
async def keyed_stack(settings: WebSettings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"auth_required": True, "api_key": "s3cret"}),
                             workers=0) as stack:
        yield stack


async def test_the_receipt_is_what_the_routed_endpoint_answered(open_stack: Stack) -> None:
    response = await open_stack.client.post("/jobs", json=BODY)
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
    receipt = response.json()
    assert list(receipt) == ["id", "type", "status", "links"]
    assert receipt["status"] == "queued" and receipt["type"] == "scrape"
    assert response.headers["location"] == receipt["links"]["self"] == f"/jobs/{receipt['id']}"
    assert "idempotent-replayed" not in response.headers
    record = (await open_stack.client.get(receipt["links"]["self"])).json()
    assert record["status"] == "queued" and record["url"] == BODY["url"]


async def test_cors_headers_and_preflight_on_submit(open_stack: Stack) -> None:
    preflight = await open_stack.client.options(
        "/jobs", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers": "content-type, idempotency-key"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in preflight.headers["access-control-allow-methods"]
    for origin_headers in ({"Origin": ALLOWED}, {"Origin": ALLOWED, "Idempotency-Key": "cors-1"}):
        submitted = await open_stack.client.post("/jobs", json=BODY, headers=origin_headers)
        assert submitted.status_code == 202
        assert submitted.headers["access-control-allow-origin"] == ALLOWED
        assert "Location" in submitted.headers["access-control-expose-headers"]
    # Errors carry them too, so a page on that origin can read why it was refused.
    refused = await open_stack.client.post("/jobs", json={"type": "scrape"}, headers={"Origin": ALLOWED})
    assert refused.status_code == 422
    assert refused.headers["access-control-allow-origin"] == ALLOWED
    other = await open_stack.client.post("/jobs", json=BODY, headers={"Origin": "https://evil.example"})
    assert other.status_code == 202 and "access-control-allow-origin" not in other.headers


async def test_no_key_is_401_before_the_body_is_looked_at(keyed_stack: Stack) -> None:
    for content, content_type in ((b"not json", "application/json"), (b"a=1", "application/x-www-form-urlencoded")):
        response = await keyed_stack.client.post("/jobs", content=content, headers={"Content-Type": content_type})
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"] == 'Bearer realm="scrapestream"'
        assert response.json()["error"]["code"] == "unauthorized"
    keyed = await keyed_stack.client.post("/jobs", json=BODY, headers={"Authorization": "Bearer s3cret"})
    assert keyed.status_code == 202


async def test_refusals_name_their_cause(open_stack: Stack) -> None:
    client = open_stack.client
    form = await client.post("/jobs", content=b"url=x", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (form.status_code, form.json()["error"]["code"]) == (415, "unsupported_media_type")
    big = await client.post("/jobs", content=b" " * 5000, headers={"Content-Type": "application/json"})
    assert (big.status_code, big.json()["error"]["code"]) == (413, "too_large")
    empty = await client.post("/jobs", content=b"", headers={"Content-Type": "application/json"})
    assert (empty.status_code, empty.json()["error"]["code"]) == (422, "invalid_body")
    bad_field = await client.post("/jobs", json={"type": "scrape", "url": "https://example.com/", "priority": 99})
    assert bad_field.status_code == 422
    assert bad_field.json()["error"]["field"] == "priority"
    blocked = await client.post("/jobs", json={"type": "scrape", "url": "ftp://example.com/"})
    assert (blocked.status_code, blocked.json()["error"]["field"]) == (422, "url")
    bad_key = await client.post("/jobs", json=BODY, headers={"Idempotency-Key": "has space"})
    assert (bad_key.status_code, bad_key.json()["error"]["field"]) == (422, "Idempotency-Key")


async def test_an_idempotent_replay_says_so(open_stack: Stack) -> None:
    headers = {"Idempotency-Key": "replay-1"}
    first = await open_stack.client.post("/jobs", json=BODY, headers=headers)
    again = await open_stack.client.post("/jobs", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert again.json()["id"] == first.json()["id"]


async def test_other_methods_on_jobs_still_list_both_in_allow(open_stack: Stack) -> None:
    response = await open_stack.client.put("/jobs", json=BODY)
    assert response.status_code == 405
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
    assert (await open_stack.client.get("/jobs")).status_code == 200


async def test_submits_are_counted_in_metrics(open_stack: Stack) -> None:
    for _ in range(3):
        assert (await open_stack.client.post("/jobs", json=BODY)).status_code == 202
    assert (await open_stack.client.post("/jobs", json={"type": "scrape"})).status_code == 422
    text = (await open_stack.client.get("/metrics")).text
    assert 'scrapestream_jobs_submitted_total{type="scrape"} 3.0' in text


async def test_many_submits_at_once_each_get_their_own_job(open_stack: Stack) -> None:
    """Submits of one loop turn reach Redis as one pipeline: each still gets its own answer."""
    keys = Keyspace(open_stack.settings.key_prefix)
    bodies = [BODY if i % 4 else {"type": "scrape", "url": "gopher://example.com/"} for i in range(40)]
    limits = httpx.Limits(max_connections=40, max_keepalive_connections=40)
    async with httpx.AsyncClient(base_url=open_stack.base_url, limits=limits, timeout=30) as client:
        responses = await asyncio.gather(*(client.post("/jobs", json=body) for body in bodies))
    assert [r.status_code for r in responses] == [202 if i % 4 else 422 for i in range(40)]
    ids = {r.json()["id"] for r in responses if r.status_code == 202}
    assert len(ids) == 30
    async with aioredis.Redis.from_url(open_stack.settings.redis_url) as redis:
        for job_id in ids:
            assert await redis.hget(keys.record(job_id), "status") == b"queued"
            assert await redis.xlen(keys.events(job_id)) == 1


async def test_submits_go_on_after_redis_forgets_its_scripts(open_stack: Stack) -> None:
    """A restarted Redis has no scripts: every submit of a pipeline falls back to sending the script."""
    async with aioredis.Redis.from_url(open_stack.settings.redis_url) as redis:
        await redis.script_flush()
    responses = await asyncio.gather(*(open_stack.client.post("/jobs", json=BODY) for _ in range(10)))
    assert [r.status_code for r in responses] == [202] * 10


async def test_behind_a_root_path_the_routed_jobs_resource_submits_the_same(open_stack: Stack) -> None:
    """Under a root path the app's shortcut does not match: the /jobs route hands POST to the same endpoint."""
    app = create_app(open_stack.settings)
    transport = httpx.ASGITransport(app=app, root_path="/api")
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            submitted = await client.post("/api/jobs", json=BODY, headers={"Origin": ALLOWED})
            assert submitted.status_code == 202
            assert submitted.headers["location"] == f"/jobs/{submitted.json()['id']}"
            assert submitted.headers["access-control-allow-origin"] == ALLOWED
            refused = await client.post("/api/jobs", json={"type": "scrape", "url": 7})
            assert (refused.status_code, refused.json()["error"]["field"]) == (422, "url")
            big = await client.post("/api/jobs", content=b" " * 5000, headers={"Content-Type": "application/json"})
            assert big.status_code == 413
            assert (await client.get("/api/jobs")).json()["jobs"][0]["id"] == submitted.json()["id"]
    finally:
        await app.state.scrapestream.aclose()
