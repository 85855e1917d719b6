"""crawl, batch and ask through the API, against a loopback site."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.crawl_site import REQUESTS, crawl_site_app
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with serve_in_thread(crawl_site_app()) as base:
        yield base


async def all_pages(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = []
    url: str | None = f"/jobs/{job_id}/result?limit=3"
    while url:
        body = (await stack.client.get(url)).json()
        pages.extend(body["pages"])
        url = body["next"]
    return pages


def paths(pages: list[dict[str, Any]]) -> set[str]:
    return {urlsplit(p["url"]).path for p in pages}


async def test_crawl_obeys_robots_and_the_limit_is_the_pages(stack: Stack, shop: str) -> None:
    REQUESTS.clear()
    job = await stack.submit({"type": "crawl", "url": f"{shop}/", "limit": 50, "max_depth": 5})
    events = await stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed"
    pages = await all_pages(stack, job["id"])
    fetched = [p for p in pages if "error" not in p]
    assert paths(fetched) == {"/", "/about", "/products/", "/blog/", "/blog/post-1", "/blog/post-2",
                              "/blog/post-1/comments", *(f"/products/{n}" for n in range(1, 7))}
    skipped = [p for p in pages if p.get("error", {}).get("code") == "robots_disallowed"]
    assert paths(skipped) == {"/private/secret"}
    assert not any(path.startswith("/private/") for path in REQUESTS)  # never requested
    assert REQUESTS.count("/robots.txt") == 1
    products = {p["product"]["name"] for p in fetched if p.get("product")}
    assert products == {f"Trail product {n}" for n in range(1, 7)}
    page_events = [e for e in events if e["type"] == "page"]
    assert len(page_events) == len(pages)
    percents = [e["data"]["percent"] for e in events if e["type"] == "progress"]
    assert percents == sorted(percents) and percents[-1] == 100
    summary = events[-1]["data"]["summary"]
    assert summary["pages"] == len(fetched) and summary["skipped_by_robots"] == 1


async def test_a_limit_smaller_than_the_site(stack: Stack, shop: str) -> None:
    job = await stack.submit({"type": "crawl", "url": f"{shop}/", "limit": 4, "max_depth": 5})
    await stack.wait_terminal(job["id"])
    pages = [p for p in await all_pages(stack, job["id"]) if "error" not in p]
    assert len(pages) == 4
    assert "/" in paths(pages)  # breadth first: the start, then its links
    assert paths(pages) <= {"/", "/about", "/products/", "/blog/"}


async def test_max_depth(stack: Stack, shop: str) -> None:
    job = await stack.submit({"type": "crawl", "url": f"{shop}/blog/", "limit": 50, "max_depth": 1})
    await stack.wait_terminal(job["id"])
    # One hop: the nav link home and the two posts; not the comments two hops away.
    assert paths(await all_pages(stack, job["id"])) == {"/blog/", "/", "/blog/post-1", "/blog/post-2"}


async def test_include_and_exclude_paths(stack: Stack, shop: str) -> None:
    job = await stack.submit({"type": "crawl", "url": f"{shop}/", "limit": 50, "max_depth": 5,
                              "include_paths": [r"^/products/\d+$", "^/products/$"],
                              "exclude_paths": [r"/products/[56]$"]})
    await stack.wait_terminal(job["id"])
    assert paths(await all_pages(stack, job["id"])) == {"/", "/products/", *(f"/products/{n}" for n in range(1, 5))}


async def test_bad_regex_is_422_naming_the_field(stack: Stack, shop: str) -> None:
    answer = await stack.client.post("/jobs", json={"type": "crawl", "url": f"{shop}/", "include_paths": ["(("]})
    # The field names the pattern at fault, as pydantic's `urls.0` does.
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "include_paths.0"
    assert answer.json()["error"]["message"].startswith("include_paths.0: ")


async def test_sitemap_seeds_the_frontier(stack: Stack, shop: str) -> None:
    job = await stack.submit({"type": "crawl", "url": f"{shop}/about", "limit": 50, "max_depth": 1,
                              "sitemap": True, "respect_robots": True})
    await stack.wait_terminal(job["id"])
    found = paths(await all_pages(stack, job["id"]))
    assert {f"/products/{n}" for n in range(1, 7)} <= found


async def test_crawl_results_are_readable_while_it_runs(stack: Stack, shop: str) -> None:
    from tests.support.sse import read_sse

    job = await stack.submit({"type": "crawl", "url": f"{shop}/", "limit": 50, "max_depth": 5})
    async for event in read_sse(stack.client, f"/jobs/{job['id']}/events"):
        if event["type"] == "page":
            body = (await stack.client.get(f"/jobs/{job['id']}/result")).json()
            assert (body["pages"] and body["next"] is not None) or body["status"] == "completed"
            break
    await stack.wait_terminal(job["id"])


async def test_batch_has_one_entry_per_url_in_order(stack: Stack, shop: str) -> None:
    urls = [f"{shop}/about", f"{shop}/products/99", f"{shop}/products/2", "ftp://nope.example/", f"{shop}/"]
    answer = await stack.client.post("/jobs", json={"type": "batch", "urls": urls})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "urls.3"
    urls.pop(3)
    job = await stack.submit({"type": "batch", "urls": urls, "formats": ["product"]})
    events = await stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed"
    assert events[-1]["data"]["summary"] == {"pages": 4, "failed": 1}
    entries = (await stack.client.get(f"/jobs/{job['id']}/result")).json()["pages"]
    assert [e["url"] for e in entries] == urls
    assert entries[1]["error"]["code"] == "http_status"
    assert entries[2]["product"]["name"] == "Trail product 2"
    assert entries[0]["title"] == "About us" and entries[0]["links"] == []  # links were not asked for
    assert len([e for e in events if e["type"] == "page"]) == 4


async def test_ask_a_finished_crawl_without_an_llm(stack: Stack, shop: str) -> None:
    crawl = await stack.submit({"type": "crawl", "url": f"{shop}/", "limit": 50, "max_depth": 5})
    await stack.wait_terminal(crawl["id"])
    ask = await stack.submit({"type": "ask", "job": crawl["id"],
                              "questions": ["What is the return policy?", "When is the shop open?"]})
    events = await stack.wait_terminal(ask["id"])
    assert events[-1]["type"] == "completed"
    answers = (await stack.client.get(f"/jobs/{ask['id']}/result")).json()["answers"]
    assert [a["question"] for a in answers] == ["What is the return policy?", "When is the shop open?"]
    assert "30 days" in answers[0]["answer"] and answers[0]["sources"] == [f"{shop}/blog/post-2"]
    assert "9 to 18" in answers[1]["answer"] and answers[1]["sources"] == [f"{shop}/about"]


async def test_ask_a_site_crawled_first(stack: Stack, shop: str) -> None:
    ask = await stack.submit({"type": "ask", "url": f"{shop}/", "limit": 20,
                              "questions": ["Are the boots waterproof?"]})
    events = await stack.wait_terminal(ask["id"])
    assert [e for e in events if e["type"] == "page"]
    answer = (await stack.client.get(f"/jobs/{ask['id']}/result")).json()["answers"][0]
    assert "waterproof" in answer["answer"] and answer["sources"] == [f"{shop}/blog/post-1"]


async def test_ask_needs_one_source_of_yours(stack: Stack, shop: str) -> None:
    both = await stack.client.post("/jobs", json={"type": "ask", "questions": ["x"], "url": f"{shop}/",
                                                  "job": "0" * 32})
    assert both.status_code == 422
    # A job that is not there (or not yours) answers like `GET /jobs/{id}` does: 404, not an oracle.
    unknown = await stack.client.post("/jobs", json={"type": "ask", "questions": ["x"], "job": "0" * 32})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    scrape = (await stack.client.post("/jobs", json={"type": "scrape", "url": f"{shop}/"})).json()
    not_pages = await stack.client.post("/jobs", json={"type": "ask", "questions": ["x"], "job": scrape["id"]})
    assert not_pages.status_code == 422 and not_pages.json()["error"]["field"] == "job"


async def test_extract_without_an_llm_is_refused_at_submit(stack: Stack, shop: str) -> None:
    answer = await stack.client.post("/jobs", json={"type": "scrape", "url": f"{shop}/",
                                                    "extract": {"schema": {"type": "object"}}})
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "extract"
