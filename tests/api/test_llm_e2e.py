"""LLM extraction and LLM answers through the API, a real worker and an OpenAI-compatible stub."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from jobs.settings import Settings
from tests.llm.stub import StubLLM, serve_stub
from tests.support.crawl_site import crawl_site_app
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack, running_stack

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
          "required": ["name", "price"]}
ANSWER = {"name": "Trail product 3", "price": 30.0}


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with serve_in_thread(crawl_site_app()) as base:
        yield base


# What the stub server supports: everything, no json_schema, no response_format at all.
SERVERS: dict[str, Callable[[StubLLM], StubLLM]] = {
    "full": StubLLM.full,
    "no_json_schema": StubLLM.no_json_schema,
    "no_response_format": StubLLM.no_response_format,
}


@pytest.fixture(params=sorted(SERVERS))
def stub(request: pytest.FixtureRequest) -> Iterator[StubLLM]:
    server = SERVERS[request.param](StubLLM(canned=ANSWER))
    yield from serve_stub(server)


@pytest.fixture
async def llm_stack(settings: Settings, stub: StubLLM) -> AsyncIterator[Stack]:
    with_llm = settings.model_copy(update={"openai_base_url": stub.base_url, "openai_api_key": "sk-test",
                                           "openai_model": "stub-model"})
    async with running_stack(with_llm) as stack:
        yield stack


async def test_scrape_with_extract_stores_the_validated_answer_and_usage(
    llm_stack: Stack, stub: StubLLM, shop: str
) -> None:
    job = await llm_stack.submit({"type": "scrape", "url": f"{shop}/products/3",
                                  "extract": {"schema": SCHEMA, "prompt": "The product and its price"}})
    events = await llm_stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed", events[-1]
    assert "llm" in [e["data"].get("phase") for e in events if e["type"] == "progress"]
    result = (await llm_stack.client.get(f"/jobs/{job['id']}/result")).json()
    assert result["extract"] == ANSWER
    assert result["usage"]["total_tokens"] > 0
    assert result["product"]["name"] == "Trail product 3"  # everything else is still there
    sent = stub.requests[-1]
    assert not {"tools", "functions", "tool_choice"} & set(sent)  # the page cannot make the model act
    assert "Product number 3" in str(sent["messages"])


async def test_an_answer_off_the_schema_fails_the_job_with_llm_error(
    llm_stack: Stack, stub: StubLLM, shop: str
) -> None:
    stub.canned = {"name": 42}
    job = await llm_stack.submit({"type": "scrape", "url": f"{shop}/products/3", "extract": {"schema": SCHEMA}})
    events = await llm_stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "failed"
    assert events[-1]["data"]["code"] == "llm_error"


async def test_batch_with_extract_and_ask_with_the_model(llm_stack: Stack, stub: StubLLM, shop: str) -> None:
    batch = await llm_stack.submit({"type": "batch", "urls": [f"{shop}/products/3", f"{shop}/blog/post-2"],
                                    "extract": {"schema": SCHEMA}})
    await llm_stack.wait_terminal(batch["id"])
    pages = (await llm_stack.client.get(f"/jobs/{batch['id']}/result")).json()["pages"]
    assert all(page["extract"] == ANSWER for page in pages)

    stub.canned = None
    from tests.llm.stub import Reply

    stub.replies = [Reply(content="Returns are accepted within 30 days [1].")]
    ask = await llm_stack.submit({"type": "ask", "job": batch["id"], "questions": ["What is the return policy?"]})
    events = await llm_stack.wait_terminal(ask["id"])
    assert events[-1]["type"] == "completed", events[-1]
    answer: dict[str, Any] = (await llm_stack.client.get(f"/jobs/{ask['id']}/result")).json()["answers"][0]
    assert answer["answer"].startswith("Returns are accepted within 30 days")
    assert answer["sources"] == [f"{shop}/blog/post-2"]
