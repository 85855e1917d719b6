"""The public surface of jobs.extract: names, formats and the result model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import jobs.extract
from jobs.extract import DEFAULT_FORMATS, FORMATS, PageDocument, Product
from tests.extract.pages import extract
from tests.support.public_api import check_public_api


def test_public_names_do_not_drift() -> None:
    check_public_api(jobs.extract)
    assert set(jobs.extract.__all__) == {
        "DEFAULT_FORMATS",
        "FORMATS",
        "PageDocument",
        "Product",
        "decode_html",
        "extract_page",
    }


def test_formats() -> None:
    assert frozenset({"markdown", "metadata", "product", "links", "html"}) == FORMATS
    assert FORMATS - {"html"} == DEFAULT_FORMATS


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="screenshot"):
        extract("<p>x</p>", formats=frozenset({"markdown", "screenshot"}))


def test_only_the_requested_formats_are_filled() -> None:
    page = '<html lang="en"><title>T</title><p><a href="/a">a</a></p></html>'
    document = extract(page, formats=frozenset({"links"}))
    assert document.links == ["http://127.0.0.1:8080/a"]
    assert document.markdown is None
    assert document.metadata == {}
    assert document.product is None
    assert document.html is None
    # The cheap fields are always there.
    assert document.title == "T"
    assert document.language == "en"


def test_html_format_returns_the_decoded_page() -> None:
    page = "<html><title>Café</title></html>".encode("cp1252")
    document = extract(page, charset="windows-1252", formats=frozenset({"html"}))
    assert document.html == "<html><title>Café</title></html>"


def test_document_round_trips_through_json() -> None:
    document = extract(
        '<title>T</title><script type="application/ld+json">{"@type":"Product","name":"P"}</script>'
    )
    again = PageDocument.model_validate_json(document.model_dump_json())
    assert again == document
    assert again.product == Product(name="P")


def test_stored_results_with_fields_added_later_still_load() -> None:
    """Results are stored as JSON; a newer writer may add fields (an LLM `extract`, `cached`)."""
    stored = {"url": "https://x.example/", "status": 200, "cached": True, "later_field": {"a": 1}}
    document = PageDocument.model_validate(stored)
    assert document.url == "https://x.example/"
    assert document.cached is True
    assert "later_field" not in document.model_dump()


def test_product_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError):
        Product.model_validate({"name": "x", "colour": "red"})


def test_importing_the_models_does_not_load_the_parsers() -> None:
    """The SDK and the API import PageDocument; they must not pay for lxml, extruct and rdflib."""
    code = (
        "import sys\n"
        "from jobs.extract import PageDocument, Product, FORMATS\n"
        "heavy = {'selectolax', 'lxml', 'extruct', 'rdflib', 'html_to_markdown'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from jobs.extract import extract_page\n"
        "assert callable(extract_page) and 'selectolax' in sys.modules\n"
    )
    root = Path(__file__).resolve().parent.parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=60)
