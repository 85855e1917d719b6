"""Pruning picks boilerplate by class or id in Python, for speed: it must pick the nodes
Lexbor's `[class*=word i]` / `[id*=word i]` selectors pick, ASCII case ignored."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborNode

from jobs.extract.html import parse_page
from jobs.extract.markdown import _BOILERPLATE_CLASS_WORDS, _BOILERPLATE_ID_WORDS, boilerplate_by_name
from tests.extract.test_markdown_snapshots import INPUTS

MIXED_CASE = (
    '<body><div class="Cookie-Banner">a</div><div ID="MainNav">b</div><p class="lead">c</p>'
    '<div class="SHARE-bar">d</div><div id="x" class="Related_Items">e</div><section id="Footer-2">f</section>'
    '<div class="k\u212aookie">Kelvin sign: not ASCII, no match</div><div class="s\u212aip-link">nor here</div>'
    '<div class="navbarx">g</div></body>'
)


SELECTORS = ", ".join(
    [f"[class*={word} i]" for word in _BOILERPLATE_CLASS_WORDS] + [f"[id*={word} i]" for word in _BOILERPLATE_ID_WORDS]
)
CLASSED_CARDS = "".join(f'<li class="card c{i}"><a class="card-link" href="/p/{i}">{i}</a></li>' for i in range(300))


def picked_both_ways(root: LexborNode) -> tuple[set[int], set[int]]:
    """The nodes each way picks (the selectors may list one twice; decomposing is done once per node)."""
    by_python = [node.mem_id for node in boilerplate_by_name(root)]
    assert len(by_python) == len(set(by_python))
    by_selectors = {node.mem_id for node in root.css(SELECTORS)}
    return set(by_python), by_selectors


@pytest.mark.parametrize("page", INPUTS, ids=[path.name for path in INPUTS])
def test_regex_and_selectors_pick_the_same_nodes(page: Path) -> None:
    body = parse_page(page.read_bytes().decode("utf-8", "replace"), "https://example.com/").tree.body
    assert body is not None
    by_python, by_selectors = picked_both_ways(body)
    assert by_python == by_selectors


def test_case_is_ignored_for_ascii_only() -> None:
    body = parse_page(MIXED_CASE, "https://example.com/").tree.body
    assert body is not None
    by_python, by_selectors = picked_both_ways(body)
    assert by_python == by_selectors
    assert len(by_python) == 6  # all but "lead" and the Kelvin sign


@pytest.mark.parametrize("furniture", ["", '<div class="x SIDEBAR-left">s</div><nav id="top-Menu">m</nav>'])
def test_a_page_full_of_classed_nodes(furniture: str) -> None:
    body = parse_page(f"<body><ul>{CLASSED_CARDS}</ul>{furniture}</body>", "https://example.com/").tree.body
    assert body is not None
    by_python, by_selectors = picked_both_ways(body)
    assert by_python == by_selectors
    assert len(by_python) == (2 if furniture else 0)
