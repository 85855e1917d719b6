"""Markdown made faster must stay the same Markdown: every fixture page, the 55 KB shop page of
bench/extract_costs.py and three pages of the crawl bench's generated shop, against the output
snapshotted before the conversion was tuned (tests/extract/markdown_snapshots/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.extract.pages import PAGES, extract

SNAPSHOTS = Path(__file__).resolve().parent / "markdown_snapshots"
INPUTS = sorted(PAGES.glob("*.html")) + sorted((SNAPSHOTS / "pages").glob("*.html"))


def test_every_input_has_a_snapshot() -> None:
    assert len(INPUTS) >= 20
    assert sorted(path.stem for path in INPUTS) == sorted(path.stem for path in SNAPSHOTS.glob("*.md"))


@pytest.mark.parametrize("page", INPUTS, ids=[path.name for path in INPUTS])
def test_markdown_equals_the_snapshot(page: Path) -> None:
    charset = "iso-8859-1" if "iso8859" in page.name else None
    expected = (SNAPSHOTS / f"{page.stem}.md").read_text("utf-8")
    assert extract(page.read_bytes(), charset=charset).markdown == expected


@pytest.mark.parametrize("page", INPUTS, ids=[path.name for path in INPUTS])
def test_markdown_alone_equals_markdown_with_every_format(page: Path) -> None:
    """The Markdown step prunes the tree the other formats read: asked for alone, it is the same."""
    charset = "iso-8859-1" if "iso8859" in page.name else None
    expected = (SNAPSHOTS / f"{page.stem}.md").read_text("utf-8")
    assert extract(page.read_bytes(), charset=charset, formats=frozenset({"markdown"})).markdown == expected
