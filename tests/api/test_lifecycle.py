"""A scrape job from submit to result, through the real app, worker and Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.support.stack import Stack

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
EXPECTED_PRODUCTS = json.loads((PAGES / "expected_products.json").read_text())
PRODUCT_PAGES = sorted(name for name in EXPECTED_PRODUCTS if not name.startswith("_"))


def order(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq)


@pytest.mark.parametrize("page", PRODUCT_PAGES)
async def test_product_page_lifecycle(stack: Stack, site: str, page: str) -> None:
    submitted = await stack.submit({"type": "scrape", "url": f"{site}/pages/{page}"})
    job_id = submitted["id"]
    assert submitted["status"] == "queued"
    links = submitted["links"]
    assert links["self"] == f"/jobs/{job_id}"
    assert links["events"].startswith(f"/jobs/{job_id}/events?token=")
    assert links["result"].startswith(f"/jobs/{job_id}/result?token=")

    events = await stack.wait_terminal(job_id)
    types = [e["type"] for e in events]
    assert types[0] == "queued" and types[1] == "started"
    assert types[-1] == "completed", events[-1]
    assert sum(t in ("completed", "failed", "cancelled") for t in types) == 1
    phases = [e["data"]["phase"] for e in events if e["type"] == "progress"]
    assert phases == ["validate", "fetch", "parse", "extract", "store"]
    ids = [order(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(isinstance(e["data"]["ts"], int) for e in events)
    assert events[1]["data"]["attempt"] == 1 and events[1]["data"]["worker"]
    assert events[-1]["data"]["result_url"] == f"/jobs/{job_id}/result"

    result = (await stack.client.get(f"/jobs/{job_id}/result")).json()
    assert result["url"] == f"{site}/pages/{page}"
    assert result["status"] == 200
    assert result["product"] == EXPECTED_PRODUCTS[page]

    record = (await stack.client.get(f"/jobs/{job_id}")).json()
    assert record["status"] == "completed" and record["percent"] == 100 and record["attempt"] == 1
    assert record["created_at"] <= record["started_at"] <= record["finished_at"]
    assert record["error"] is None


async def test_result_document_has_every_field(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    await stack.wait_terminal(job["id"])
    result = (await stack.client.get(f"/jobs/{job['id']}/result")).json()
    for field in ("url", "status", "title", "description", "language", "canonical", "links",
                  "markdown", "metadata", "product"):
        assert field in result
    assert result["title"] == "Plain page"
    assert result["language"] == "en"
    assert f"{site}/next" in result["links"]
    assert "main text of a plain test page" in result["markdown"]
    assert "Footer text" not in result["markdown"]


async def test_redis_holds_the_same_events_as_sse(stack: Stack, site: str, redis_url: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    events = await stack.wait_terminal(job["id"])
    client = Redis.from_url(redis_url)
    try:
        entries = await client.xrange(f"ss:job:{{{job['id']}}}:events", "-", "+")
        record = await client.hgetall(f"ss:job:{{{job['id']}}}")
        ttl = await client.ttl(f"ss:job:{{{job['id']}}}:result")
    finally:
        await client.aclose()
    assert [e[0].decode() for e in entries] == [e["id"] for e in events]
    assert [e[1][b"type"].decode() for e in entries] == [e["type"] for e in events]
    assert [json.loads(e[1][b"data"]) for e in entries] == [e["data"] for e in events]
    assert record[b"status"] == b"completed"
    assert 0 < ttl <= stack.settings.retention_s


async def test_json_history(stack: Stack, site: str) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    events = await stack.wait_terminal(job["id"])
    by_header = await stack.client.get(f"/jobs/{job['id']}/events", headers={"Accept": "application/json"})
    by_query = await stack.client.get(f"/jobs/{job['id']}/events?format=json")
    assert by_header.status_code == by_query.status_code == 200
    assert by_header.json() == by_query.json() == events


async def test_a_failing_job_does_not_stop_the_worker(stack: Stack, site: str) -> None:
    bad = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
    good = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    bad_events = await stack.wait_terminal(bad["id"])
    good_events = await stack.wait_terminal(good["id"])
    assert bad_events[-1]["type"] == "failed"
    assert bad_events[-1]["data"]["code"] == "http_status"
    assert good_events[-1]["type"] == "completed"
