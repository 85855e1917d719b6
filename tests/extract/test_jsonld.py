"""Lenient JSON-LD: real pages' broken blocks are repaired or skipped, never fatal."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.extract.jsonld import flatten_jsonld, parse_jsonld


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('{"a": [1, 2,],}', {"a": [1, 2]}),
        (
            '{"url": "https://x.example//y", // a comment\n "b": 2 /* another */}',
            {"url": "https://x.example//y", "b": 2},
        ),
        ('{"a": [1, /* gone */]}', {"a": [1]}),
        ('<!--\n{"a": 1}\n-->', {"a": 1}),
        ('//<![CDATA[\n{"a": 1}\n//]]>', {"a": 1}),
        ("{&quot;a&quot;: &quot;b&quot;}", {"a": "b"}),
        ('{"a": "line\nbreak\ttab"}', {"a": "line\nbreak\ttab"}),
        ('{"a": "it\\\'s"}', {"a": "it's"}),
        ('{"a": "back\\\\slash"}', {"a": "back\\slash"}),
        ('{"a": 1}{"b": 2}', [{"a": 1}, {"b": 2}]),
        ('{"a": 1};', {"a": 1}),
        ('{"a": 1} trailing garbage', {"a": 1}),
    ],
)
def test_repairs(text: str, expected: Any) -> None:
    assert parse_jsonld(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "not json", '{"a": ', "{" * 100_000, "[" * 5000 + "]" * 5000])
def test_unreadable_blocks_are_none(text: str) -> None:
    assert parse_jsonld(text) is None


def test_flatten_unpacks_lists_and_graphs_and_drops_non_objects() -> None:
    blocks = [
        [{"@type": "A"}, "junk", 3],
        {"@context": "ctx", "@graph": [{"@type": "B"}, {"@type": "C", "@context": "own"}, "junk"]},
        {"@graph": {"@type": "D"}},
    ]
    assert flatten_jsonld(blocks) == [
        {"@type": "A"},
        {"@context": "ctx", "@type": "B"},
        {"@type": "C", "@context": "own"},
        {"@type": "D"},
    ]


def test_huge_integers_become_floats_on_both_paths() -> None:
    """orjson reads integers past 64 bits as floats and refuses to write big ints; the
    lenient path must give the same, or storing the result with orjson would fail."""
    strict = parse_jsonld('{"n": 123456789012345678901234567890}')
    lenient = parse_jsonld('{"n": 123456789012345678901234567890,}')
    assert strict == lenient == {"n": 1.2345678901234568e29}
    assert parse_jsonld('{"n": 42,}') == {"n": 42}
