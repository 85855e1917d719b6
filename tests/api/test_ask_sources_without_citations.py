"""An `ask` answer whose model cites no passage still names its sources: the pages the model was given."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jobs.settings import Settings
from tests.llm.stub import Reply, StubLLM, serve_stub
from tests.support.crawl_site import crawl_site_app
from tests.support.servers import serve_in_thread
from tests.support.stack import running_stack


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    with serve_in_thread(crawl_site_app()) as base:
        yield base


@pytest.fixture
def stub() -> Iterator[StubLLM]:
    yield from serve_stub(StubLLM().full())


async def test_an_answer_without_citations_names_the_pages_the_model_read(
    settings: Settings, stub: StubLLM, shop: str
) -> None:
    """It said `"sources": []`, as if the answer came from nowhere."""
    with_llm = settings.model_copy(update={"openai_base_url": stub.base_url, "openai_api_key": "sk-test",
                                           "openai_model": "stub-model"})
    async with running_stack(with_llm) as stack:
        urls = [f"{shop}/blog/post-2", f"{shop}/products/3"]
        batch = await stack.submit({"type": "batch", "urls": urls})
        assert (await stack.wait_terminal(batch["id"]))[-1]["type"] == "completed"
        stub.replies = [Reply(content="Returns are accepted within 30 days.")]  # no [n] anywhere
        ask = await stack.submit({"type": "ask", "job": batch["id"], "questions": ["What is the return policy?"]})
        assert (await stack.wait_terminal(ask["id"]))[-1]["type"] == "completed"
        answer: dict[str, Any] = (await stack.client.get(f"/jobs/{ask['id']}/result")).json()["answers"][0]
    assert answer["answer"] == "Returns are accepted within 30 days."
    sent = str(stub.requests[-1]["messages"])
    given = [url for url in urls if url in sent]
    assert given and sorted(answer["sources"]) == sorted(given)
    assert len(answer["sources"]) == len(set(answer["sources"]))
