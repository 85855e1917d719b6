"""Shared helpers for the extraction tests: fixture pages and a short extract call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobs.extract import DEFAULT_FORMATS, PageDocument, extract_page

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
PAGE_URL = "http://127.0.0.1:8080/shop/page.html"


def fixture(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def expected_products() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAGES / "expected_products.json").read_text("utf-8"))
    return {name: product for name, product in data.items() if not name.startswith("_")}


def extract(
    content: bytes | str,
    *,
    url: str = PAGE_URL,
    media_type: str = "text/html",
    charset: str | None = None,
    formats: frozenset[str] = DEFAULT_FORMATS,
) -> PageDocument:
    if isinstance(content, str):
        content = content.encode("utf-8")
    return extract_page(content, url=url, status=200, media_type=media_type, charset=charset, formats=formats)
