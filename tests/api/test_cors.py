"""Pages on other origins may submit and follow jobs when their origin is allowed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jobs.settings import Settings
from tests.support.stack import Stack, running_stack

ALLOWED = "https://app.example"


@pytest.fixture
async def cors_stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings.model_copy(update={"cors_origins": [ALLOWED]})) as stack:
        yield stack


async def test_allowed_origin_gets_cors_headers_on_submit_and_sse(cors_stack: Stack, site: str) -> None:
    submitted = await cors_stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"},
                                             headers={"Origin": ALLOWED})
    assert submitted.headers["access-control-allow-origin"] == ALLOWED
    assert "Location" in submitted.headers["access-control-expose-headers"]
    job_id = submitted.json()["id"]
    await cors_stack.wait_terminal(job_id)
    sse = await cors_stack.client.get(f"/jobs/{job_id}/events", headers={"Origin": ALLOWED})
    assert sse.status_code == 200
    assert sse.headers["access-control-allow-origin"] == ALLOWED


async def test_preflight_for_an_allowed_origin(cors_stack: Stack) -> None:
    response = await cors_stack.client.options(
        "/jobs", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "POST",
                          "Access-Control-Request-Headers": "content-type"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED


async def test_other_origins_get_no_cors_headers(cors_stack: Stack, site: str) -> None:
    submitted = await cors_stack.client.post("/jobs", json={"type": "scrape", "url": f"{site}/plain"},
                                             headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in submitted.headers
    job_id = submitted.json()["id"]
    await cors_stack.wait_terminal(job_id)
    sse = await cors_stack.client.get(f"/jobs/{job_id}/events", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in sse.headers
    preflight = await cors_stack.client.options(
        "/jobs", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
