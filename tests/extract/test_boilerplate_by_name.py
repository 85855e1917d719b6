"""Pruning picks boilerplate by class or id in one of two ways, by how many nodes have one
(a regex in Python, or Lexbor's `[class*=word i]` selectors): both must pick the same nodes."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborNode

from jobs.extract.html import parse_page
from jobs.extract.markdown import _BOILERPLATE_ATTRIBUTES, _is_boilerplate_by_name
from tests.extract.test_markdown_snapshots import INPUTS

MIXED_CASE = (
    '<body><div class="Cookie-Banner">a</div><div ID="MainNav">b</div><p class="lead">c</p>'
    '<div class="SHARE-bar">d</div><div id="x" class="Related_Items">e</div><section id="Footer-2">f</section>'
    '<div class="k\u212aookie">Kelvin sign: not ASCII, no match</div><div class="navbarx">g</div></body>'
)


def picked_both_ways(root: LexborNode) -> tuple[set[int], set[int]]:
    """The nodes each way picks (either may list one twice; decomposing is done once per node)."""
    by_regex = {node.mem_id for node in root.css("[class], [id]") if _is_boilerplate_by_name(node)}
    by_selectors = {node.mem_id for node in root.css(_BOILERPLATE_ATTRIBUTES)}
    return by_regex, by_selectors


@pytest.mark.parametrize("page", INPUTS, ids=[path.name for path in INPUTS])
def test_regex_and_selectors_pick_the_same_nodes(page: Path) -> None:
    body = parse_page(page.read_bytes().decode("utf-8", "replace"), "https://example.com/").tree.body
    assert body is not None
    by_regex, by_selectors = picked_both_ways(body)
    assert by_regex == by_selectors


def test_case_is_ignored_for_ascii_only() -> None:
    body = parse_page(MIXED_CASE, "https://example.com/").tree.body
    assert body is not None
    by_regex, by_selectors = picked_both_ways(body)
    assert by_regex == by_selectors
    assert len(by_regex) == 6  # all but "lead" and the Kelvin sign
