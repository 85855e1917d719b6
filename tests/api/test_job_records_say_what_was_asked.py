"""A job's record says what was asked (URL, a batch's first URLs, an ask's source and questions, the options),
never a secret, and `GET /jobs` finds jobs by URL and by type."""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as aioredis

from jobs.models import ASKED_URLS
from streams.keys import Keyspace
from tests.support.stack import Stack

SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the base64 of 24 bytes


async def record(stack: Stack, job_id: str) -> dict[str, Any]:
    response = await stack.client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed(stack: Stack, **params: str) -> list[dict[str, Any]]:
    response = await stack.client.get("/jobs", params=params)
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


async def test_a_scrape_record_carries_its_url_and_options_but_not_the_webhook_secret(
    idle_stack: Stack, site: str
) -> None:
    job = await idle_stack.submit({
        "type": "scrape", "url": f"{site}/Plain", "formats": ["markdown"], "priority": 8,
        "webhook": {"url": f"{site}/hook", "secret": SECRET, "events": ["completed"]},
    })
    body = await record(idle_stack, job["id"])
    assert body["url"] == f"{site}/Plain"
    assert body["options"]["formats"] == ["markdown"] and body["options"]["priority"] == 8
    assert body["options"]["webhook"] == {"url": f"{site}/hook", "events": ["completed"]}
    assert "url" not in body["options"] and "type" not in body["options"]
    assert (await listed(idle_stack))[0]["url"] == f"{site}/Plain"
    # Nowhere in what a client reads, nor in the field Redis keeps for it.
    assert SECRET not in (await idle_stack.client.get(f"/jobs/{job['id']}")).text
    assert SECRET not in (await idle_stack.client.get("/jobs")).text
    async with aioredis.Redis.from_url(idle_stack.settings.redis_url) as redis:
        asked = await redis.hget(Keyspace(idle_stack.settings.key_prefix).record(job["id"]), "asked")
    assert asked is not None and SECRET.encode() not in asked
    assert orjson.loads(asked)["url"] == f"{site}/Plain"


async def test_a_batch_record_counts_its_urls_and_names_the_first_few(idle_stack: Stack, site: str) -> None:
    urls = [f"{site}/plain?page={n}" for n in range(7)]
    job = await idle_stack.submit({"type": "batch", "urls": urls})
    body = await record(idle_stack, job["id"])
    assert body["urls_count"] == 7
    assert body["urls"] == urls[:ASKED_URLS]
    assert body["url"] is None and "urls" not in body["options"]


async def test_an_ask_record_names_its_source_and_questions(idle_stack: Stack, site: str) -> None:
    crawl = await idle_stack.submit({"type": "crawl", "url": f"{site}/", "limit": 3})
    by_url = await idle_stack.submit({"type": "ask", "url": f"{site}/", "questions": ["Who?"], "limit": 5})
    assert (await record(idle_stack, crawl["id"]))["options"]["limit"] == 3
    body = await record(idle_stack, by_url["id"])
    assert body["url"] == f"{site}/" and body["job"] is None
    assert body["questions"] == ["Who?"] and body["options"]["limit"] == 5


async def test_jobs_are_found_by_a_piece_of_their_url_in_any_case_and_by_type(idle_stack: Stack, site: str) -> None:
    shoes = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain?item=Red-Shoes"})
    await idle_stack.submit({"type": "scrape", "url": f"{site}/plain?item=hat"})
    batch = await idle_stack.submit({"type": "batch", "urls": [f"{site}/plain?x=1", f"{site}/plain?item=red-shoes-2"]})
    found = await listed(idle_stack, url="RED-SHOES")
    assert [job["id"] for job in found] == [batch["id"], shoes["id"]]  # newest first
    assert [job["id"] for job in await listed(idle_stack, url="red-shoes", type="scrape")] == [shoes["id"]]
    assert [job["id"] for job in await listed(idle_stack, type="batch")] == [batch["id"]]
    assert await listed(idle_stack, url="no-such-thing") == []
    wrong = await idle_stack.client.get("/jobs", params={"type": "scraper"})
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "type"


async def test_a_url_search_pages_with_the_cursor(idle_stack: Stack, site: str) -> None:
    wanted = [await idle_stack.submit({"type": "scrape", "url": f"{site}/plain?found={n}"}) for n in range(3)]
    for n in range(3):
        await idle_stack.submit({"type": "scrape", "url": f"{site}/plain?other={n}"})
    first = (await idle_stack.client.get("/jobs", params={"url": "found=", "limit": 2})).json()
    second = (await idle_stack.client.get("/jobs", params={"url": "found=", "limit": 2,
                                                           "cursor": first["next_cursor"]})).json()
    ids = [job["id"] for job in first["jobs"] + second["jobs"]]
    assert ids == [job["id"] for job in reversed(wanted)]
