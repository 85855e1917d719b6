"""Hostile pages end with a partial result, in bounded time and memory, never a crash."""

from __future__ import annotations

import functools

import orjson
import pytest

from jobs.errors import ExtractionError
from jobs.extract import FORMATS, PageDocument
from jobs.extract.text_caps import MAX_LINKS, MAX_MARKDOWN_CHARS, MAX_META_VALUE_CHARS
from tests.extract.pages import PAGES, extract, fixture
from tests.fixtures import hostile_pages

EVERYTHING = FORMATS


@functools.cache
def hostile_document(name: str) -> PageDocument:
    """Each hostile page extracted once per test run (the 10 MB one takes seconds)."""
    return extract(hostile_pages.HOSTILE_PAGES[name](), formats=EVERYTHING)


@pytest.mark.parametrize("name", hostile_pages.HOSTILE_PAGES)
def test_every_hostile_page_gives_a_bounded_document(name: str) -> None:
    document = hostile_document(name)
    assert isinstance(document, PageDocument)
    assert len(document.links) <= MAX_LINKS
    assert len(document.markdown or "") <= MAX_MARKDOWN_CHARS


def test_hundred_thousand_nested_divs_keep_the_text_after_them() -> None:
    """Lexbor took ~18 s on this page and libxml2 dropped everything after depth 256:
    the nesting past MAX_HTML_DEPTH is now unwrapped before any parser sees it."""
    document = hostile_document("deeply_nested")
    assert document.title == "Deep"
    assert document.markdown == "Deep inside.\n\nAfter the nesting."
    assert document.product is not None
    assert document.product.name == "Sturdy Widget"


@pytest.mark.parametrize("tag", ["section", "ul", "blockquote", "span", "table"])
def test_deep_nesting_of_any_element(tag: str) -> None:
    document = extract(hostile_pages.deeply_nested(30_000, tag), formats=EVERYTHING)
    assert "After the nesting." in (document.markdown or "")


def test_never_closed_divs() -> None:
    document = hostile_document("unclosed_nesting")
    assert (document.markdown or "").endswith("The end.")


def test_stray_end_tags_cannot_hide_deep_nesting() -> None:
    page = b"</div>" * 50_000 + b"<div>" * 50_000 + b"<p>Found.</p>"
    assert "Found." in (extract(page).markdown or "")


def test_huge_attribute_values_are_capped_and_do_not_hide_the_text() -> None:
    document = hostile_document("huge_attribute")
    assert document.title == "Huge attribute"
    assert len(document.description or "") <= 2_000
    opengraph = document.metadata["opengraph"]
    assert len(opengraph["og:image"]) == MAX_META_VALUE_CHARS
    markdown = document.markdown or ""
    assert "Before." in markdown
    assert "Still here." in markdown
    assert "After." in markdown
    assert document.links == []  # a 5 MB href is no URL


def test_fifty_thousand_links_are_capped() -> None:
    document = hostile_document("many_links")
    assert len(document.links) == MAX_LINKS
    assert document.links[:2] == ["http://127.0.0.1:8080/item/0", "http://127.0.0.1:8080/item/1"]
    assert len(document.markdown or "") <= MAX_MARKDOWN_CHARS


def test_nul_and_control_bytes() -> None:
    document = hostile_document("nul_bytes")
    markdown = document.markdown or ""
    assert "Readable text here." in markdown
    assert "Tail." in markdown
    assert "\x00" not in markdown
    assert "\x01" not in markdown
    assert document.product is not None
    assert document.product.price == 5.0
    assert document.metadata["microdata"]  # lxml refuses NUL bytes: they are removed for it


def test_ten_megabyte_page() -> None:
    document = hostile_document("ten_megabytes")
    assert document.title == "Ten megabytes"
    assert document.product is not None
    assert document.product.price == 9.99
    assert document.markdown is not None
    assert document.markdown.startswith("## Section")
    assert len(document.markdown) <= MAX_MARKDOWN_CHARS
    assert document.links == ["http://127.0.0.1:8080/x"]


def test_broken_markup_and_jsonld() -> None:
    document = hostile_document("broken_everything")
    assert document.product is not None
    assert document.product.name == "Sturdy Widget"
    assert "End." in (document.markdown or "")


def test_malformed_fixture_page() -> None:
    document = extract(fixture("hostile_malformed.html"), url="https://x.example/dir/page")
    assert document.title == "Broken & malformed"
    assert document.links == ["https://x.example/a", "https://x.example/b"]
    markdown = document.markdown or ""
    assert "First paragraph **bold *both***" in markdown
    assert "Last words before an unterminated comment." in markdown
    assert "hidden" not in markdown


def test_binary_body_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="binary") as caught:
        extract(hostile_pages.binary())
    assert caught.value.code == "extraction_error"
    with pytest.raises(ExtractionError):
        extract(hostile_pages.binary(), media_type="text/plain")


def test_a_binary_signature_is_refused_however_much_text_follows() -> None:
    with pytest.raises(ExtractionError, match="a PNG image"):
        extract(b"\x89PNG\r\n\x1a\n" + b"plain words " * 1000, media_type="text/plain")


def test_a_page_of_nul_bytes_is_binary() -> None:
    with pytest.raises(ExtractionError):
        extract(b"\x00" * 100_000)


def test_markup_full_of_nul_bytes_is_still_a_page() -> None:
    document = extract(b"<html><title>T</title><body>" + b"\x00" * 100_000 + b"<p>ok</p></body></html>")
    assert document.title == "T"
    assert document.markdown == "ok"


@pytest.mark.parametrize("name", [path.name for path in sorted(PAGES.glob("*.html"))])
def test_every_fixture_document_serializes(name: str) -> None:
    """Results are stored as JSON: nothing extraction returns may trip a serializer."""
    document = extract(fixture(name), formats=EVERYTHING)
    assert orjson.loads(orjson.dumps(document.model_dump())) == orjson.loads(document.model_dump_json())
