"""A bare `<article itemscope>` (no itemtype, no itemprop: common in CMS templates) is no
microdata item. extruct gave it the article's whole text as its "value", which doubled the
result (and the extraction time) of every such page; it is dropped now."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from redis.asyncio import Redis

from jobs.extract import decode_html
from streams.keys import Keyspace
from tests.extract.pages import PAGES, extract, fixture
from tests.support.stack import Stack

CMS_PAGE = "article_bare_itemscope.html"
# A sentence that only the article body has.
ARTICLE_TEXT = "Sourdough has a reputation for being difficult."


def result_bytes(content: bytes, charset: str | None = None) -> int:
    return len(orjson.dumps(extract(content, charset=charset).model_dump(mode="json")))


def test_a_bare_itemscope_adds_no_copy_of_the_article_to_metadata() -> None:
    document = extract(fixture(CMS_PAGE))
    assert ARTICLE_TEXT in (document.markdown or "")
    assert document.metadata["microdata"] == []
    assert ARTICLE_TEXT not in orjson.dumps(document.metadata).decode()


def test_an_untyped_item_with_properties_is_kept() -> None:
    page = '<div itemscope><span itemprop="name">Kettle</span></div><article itemscope>Long text</article>'
    assert extract(page, formats=frozenset({"metadata"})).metadata["microdata"] == [
        {"properties": {"name": "Kettle"}}
    ]


def test_a_typed_item_inside_a_bare_itemscope_is_kept() -> None:
    page = (
        '<article itemscope><p>Intro text</p><div itemscope itemtype="https://schema.org/Product">'
        '<span itemprop="name">Kettle</span></div></article>'
    )
    microdata = extract(page, formats=frozenset({"metadata"})).metadata["microdata"]
    assert microdata == [{"type": "https://schema.org/Product", "properties": {"name": "Kettle"}}]


def test_the_cms_page_result_is_smaller_than_the_page() -> None:
    assert result_bytes(fixture(CMS_PAGE)) < len(fixture(CMS_PAGE))


# Every result carries the same envelope (url, status, the metadata keys, nulls) whatever
# the page, and a page in a legacy charset grows when re-encoded as UTF-8: what must not
# grow is the page's own content. RDFa is the exception: `metadata.rdfa` is, by contract,
# the expanded graph extruct reads (full IRIs, blank-node ids), larger than its markup.
ENVELOPE = result_bytes(b"<html></html>")
GROWS_BY_CONTRACT = {"product_rdfa.html"}
# The fixture pages, the 55 KB shop page of bench/extract_costs.py and pages of the crawl bench's shop.
FIXTURE_PAGES = [path for path in sorted(PAGES.glob("*.html")) if path.name not in GROWS_BY_CONTRACT] + sorted(
    (Path(__file__).resolve().parent / "markdown_snapshots" / "pages").glob("*.html")
)


@pytest.mark.parametrize("page", FIXTURE_PAGES, ids=[path.name for path in FIXTURE_PAGES])
def test_a_result_is_no_larger_than_its_page(page: Path) -> None:
    content = page.read_bytes()
    charset = "iso-8859-1" if "iso8859" in page.name else None
    as_utf8 = len(decode_html(content, charset).encode("utf-8"))
    assert result_bytes(content, charset) <= as_utf8 + ENVELOPE


@pytest.mark.parametrize("page", [CMS_PAGE, "product_jsonld.html", "article.html"])
async def test_a_finished_scrape_leaves_no_more_than_its_result_and_8_kb_in_redis(
    stack: Stack, site: str, page: str
) -> None:
    job = await stack.submit({"type": "scrape", "url": f"{site}/pages/{page}"})
    events = await stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed", events[-1]
    result = await stack.client.get(f"/jobs/{job['id']}/result")
    assert result.status_code == 200
    assert ARTICLE_TEXT not in orjson.dumps(result.json()["metadata"]).decode()

    keys = Keyspace(stack.settings.key_prefix)
    async with Redis.from_url(stack.settings.redis_url) as redis:
        stored = await redis.get(keys.result(job["id"]))
        assert stored is not None
        sizes = {
            key: await redis.memory_usage(key)
            for key in (keys.record(job["id"]), keys.events(job["id"]), keys.result(job["id"]))
        }
    assert all(size is not None for size in sizes.values()), sizes
    assert sum(size or 0 for size in sizes.values()) <= len(stored) + 8 * 1024, (len(stored), sizes)
    assert len(stored) < len(fixture(page))
