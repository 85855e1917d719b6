"""Error answers become typed exceptions, network failures become TransportError."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from jobs.models import JobStatus
from service.client import (
    APIError,
    BadRequest,
    Client,
    Conflict,
    InvalidRequest,
    NotFound,
    ServerError,
    TransportError,
    Unauthorized,
)
from tests.support.redis_server import free_port

from .conftest import QUICK_RETRY
from .scripted import Scripted, ScriptedServer, error, json_body

JOB = "0123456789abcdef0123456789abcdef"
RECORD = {"id": JOB, "type": "scrape", "status": "queued", "created_at": "2025-01-01T00:00:00Z"}


@contextlib.asynccontextmanager
async def scripted_client(server: ScriptedServer, api_key: str | None = None) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=server)
    async with Client("http://scripted.test", api_key, transport=transport, retry=QUICK_RETRY) as client:
        yield client


@pytest.mark.parametrize(
    ("status", "kind"),
    [(400, BadRequest), (401, Unauthorized), (403, Unauthorized), (404, NotFound), (409, Conflict),
     (418, APIError), (422, InvalidRequest), (500, ServerError), (502, ServerError)],
)
async def test_an_error_answer_raises_its_own_type(status: int, kind: type[APIError]) -> None:
    server = ScriptedServer([error(status, "some_code")])
    async with scripted_client(server) as client:
        with pytest.raises(APIError) as caught:
            await client.cancel(JOB)  # a DELETE: not sent twice after a 5xx
    assert type(caught.value) is kind
    assert (caught.value.status, caught.value.code, caught.value.message) == (
        status, "some_code", f"scripted {status}")
    assert len(server.requests) == 1


async def test_an_error_page_that_is_not_ours_still_raises_a_typed_error() -> None:
    page = Scripted(502, [(b"content-type", b"text/html")], [b"<h1>nginx: bad gateway</h1>"])
    async with scripted_client(ScriptedServer([page])) as client:
        with pytest.raises(ServerError) as caught:
            await client.cancel(JOB)
    assert caught.value.code == "http_error" and "bad gateway" in caught.value.message


async def test_a_read_is_retried_after_a_5xx_a_write_is_not() -> None:
    server = ScriptedServer([error(502), json_body(200, RECORD)])
    async with scripted_client(server) as client:
        record = await client.get(JOB)
    assert record.status is JobStatus.QUEUED and len(server.requests) == 2


async def test_a_conflict_carries_the_job() -> None:
    body = {"error": {"code": "already_finished", "message": "done"}, "job": {**RECORD, "status": "failed",
            "error": {"code": "http_status", "message": "404 Not Found"}}}
    async with scripted_client(ScriptedServer([json_body(409, body)])) as client:
        with pytest.raises(Conflict) as caught:
            await client.cancel(JOB)
    job = caught.value.job
    assert job is not None and job.status is JobStatus.FAILED
    assert job.error is not None and job.error.code == "http_status"


async def test_the_api_key_goes_as_a_bearer_token() -> None:
    server = ScriptedServer([json_body(200, RECORD)])
    async with scripted_client(server, api_key="sk-test") as client:
        await client.get(JOB)
    assert server.requests[0]["authorization"] == "Bearer sk-test"


async def test_a_retried_submit_keeps_its_idempotency_key() -> None:
    accepted = {"id": JOB, "type": "scrape", "status": "queued",
                "links": {"self": f"/jobs/{JOB}", "events": f"/jobs/{JOB}/events",
                          "result": f"/jobs/{JOB}/result"}}
    server = ScriptedServer([error(503, retry_after=0), json_body(202, accepted)])
    async with scripted_client(server) as client:
        job = await client.scrape("https://example.com/", wait=False)
        await client.submit({"type": "scrape", "url": "https://example.com/"}, idempotency_key="mine")
    assert job.id == JOB and job.links.result == f"/jobs/{JOB}/result"
    keys = [request["idempotency-key"] for request in server.requests]
    assert keys[0] == keys[1] and len(keys[0]) == 32 and keys[2] == "mine"


async def test_connection_refused_is_a_transport_error_raised_from_httpx() -> None:
    async with Client(f"http://127.0.0.1:{free_port()}", retry=QUICK_RETRY) as client:
        with pytest.raises(TransportError) as caught:
            await client.get(JOB)
    assert caught.value.request_sent is False
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


def test_the_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="http"):
        Client("ftp://127.0.0.1:8000")
