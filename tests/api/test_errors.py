"""Typed failures: every refusal and every failed fetch has a stable code."""

from __future__ import annotations

import pytest

from jobs.settings import Settings
from tests.support.redis_server import free_port
from tests.support.stack import Stack, running_stack


async def test_result_is_409_until_completed_then_200(idle_stack: Stack, site: str) -> None:
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
    response = await idle_stack.client.get(f"/jobs/{job['id']}/result")
    assert response.status_code == 409
    body = response.json()
    assert body["error"]["code"] == "not_completed"
    assert body["job"]["status"] == "queued" and body["job"]["id"] == job["id"]


async def test_result_of_a_failed_job_is_409_with_its_error(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
    await stack.wait_terminal(job["id"])
    response = await stack.client.get(f"/jobs/{job['id']}/result")
    assert response.status_code == 409
    assert response.json()["job"]["error"]["code"] == "http_status"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "scrape"}, "url"),
        ({"type": "scrape", "url": 12}, "url"),
        ({"type": "scrape", "url": "https://example.com/", "formats": ["pdf"]}, "formats.0"),
        ({"type": "scrape", "url": "https://example.com/", "colour": "red"}, "colour"),
        ({"type": "teleport", "url": "https://example.com/"}, "type"),
        ({"type": "scrape", "url": "https://example.com/", "timeout_s": -1}, "timeout_s"),
    ],
)
async def test_422_names_the_field_at_fault(stack: Stack, body: dict[str, object], field: str) -> None:
    response = await stack.client.post("/jobs", json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"]


@pytest.mark.parametrize("url", ["ftp://example.com/file", "file:///etc/passwd", "not a url",
                                 "javascript:alert(1)", "http://", "https://exa mple.com/"])
async def test_bad_urls_are_invalid_url_at_submit(stack: Stack, url: str) -> None:
    response = await stack.client.post("/jobs", json={"type": "scrape", "url": url})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_url"
    assert response.json()["error"]["field"] == "url"


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1, 2]", b'"scrape"'])
async def test_a_body_that_is_not_a_json_object_is_422(stack: Stack, raw: bytes) -> None:
    response = await stack.client.post("/jobs", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_body"


async def failure_code(stack: Stack, url: str) -> str:
    job = await stack.submit({"type": "scrape", "url": url})
    events = await stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "failed", events
    code: str = events[-1]["data"]["code"]
    record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == "failed" and record["error"]["code"] == code
    return code


async def test_target_status_pdf_and_unreachable(stack: Stack, site: str) -> None:
    assert await failure_code(stack, f"{site}/status/404") == "http_status"
    assert await failure_code(stack, f"{site}/status/503") == "http_status"
    assert await failure_code(stack, f"{site}/doc.pdf") == "unsupported_content"
    assert await failure_code(stack, f"http://127.0.0.1:{free_port()}/") == "fetch_error"


async def test_slow_and_oversized_pages(settings: Settings, site: str) -> None:
    tight = settings.model_copy(update={"fetch_timeout_s": 1.0, "fetch_max_bytes": 256 * 1024})
    async with running_stack(tight) as stack:
        assert await failure_code(stack, f"{site}/slow?s=5") == "fetch_timeout"
        assert await failure_code(stack, f"{site}/endless") == "too_large"
