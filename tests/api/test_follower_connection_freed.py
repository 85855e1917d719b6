"""An SSE follower's connection is freed when it ends, without waiting for the garbage collector."""

from __future__ import annotations

import asyncio
import gc
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from redis.asyncio import Redis
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from jobs.store.records import iso_now
from service.app import create_app
from service.settings import WebSettings
from streams.keys import Keyspace
from streams.publish import PendingEvent, StreamLimits, append_event, create_stream
from tests.support.sse import read_sse

LIMITS = StreamLimits(maxlen=1_000, ttl_s=600)


@pytest.fixture
async def web(settings: WebSettings) -> AsyncIterator[str]:
    """The app under uvicorn's httptools protocol, in this process: its objects are ours to count."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, http="httptools",
                                           ws="none", log_level="warning", access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving


async def finished_job(redis: Redis, keys: Keyspace) -> str:
    job_id = uuid.uuid4().hex
    record = {"id": job_id, "type": "scrape", "status": "running", "created_at": iso_now(), "owner": "public"}
    await create_stream(redis, keys.events(job_id), keys.record(job_id), PendingEvent.make("queued", {}, record),
                        limits=LIMITS)
    await append_event(redis, keys.events(job_id), keys.record(job_id), "failed",
                       {"code": "fetch_error", "message": "unreachable"}, limits=LIMITS)
    return job_id


def live_request_cycles() -> list[RequestResponseCycle]:
    return [thing for thing in gc.get_objects() if isinstance(thing, RequestResponseCycle)]


async def test_a_finished_sse_response_leaves_no_reference_cycle(web: str, settings: WebSettings) -> None:
    """What broke: the app keeps uvicorn's `send` in the request scope for the SSE fast path; that
    `send` is a method of the request cycle that holds the scope, so every SSE connection's objects
    (request cycle, transport, buffers) stayed until a full garbage collection. After 2,000 dropped
    followers that was ~30,000 objects, ~100 ms of the event loop, and the web process's RSS stayed up."""
    redis = Redis.from_url(settings.redis_url)
    try:
        job_id = await finished_job(redis, Keyspace(settings.key_prefix))
    finally:
        await redis.aclose()
    gc.collect()
    gc.disable()
    try:
        # Held, so that none of them is freed meanwhile (another test's, ending) and its id reused.
        before = {id(cycle): cycle for cycle in live_request_cycles()}
        async with httpx.AsyncClient(base_url=web, timeout=30) as client:
            for _ in range(5):
                types = [event["type"] async for event in read_sse(client, f"/jobs/{job_id}/events")]
                assert types == ["queued", "failed"]
        await asyncio.sleep(0.1)  # the server sees each connection close
        left = [cycle for cycle in live_request_cycles() if id(cycle) not in before]
        assert left == [], "an ended SSE connection's objects must be freed at once"
    finally:
        gc.enable()
