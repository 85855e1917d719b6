"""Passages: Markdown cut at headings and paragraphs, small ones merged, none too long."""

from __future__ import annotations

import pytest

from jobs.crawl import split_passages

PAGE = """\
Intro line before any heading.

# Acme Widgets

Acme makes widgets.

## Pricing

The basic plan costs $5 a month. The pro plan costs $20 a month.

Both plans can be cancelled at any time.

## Shipping

Orders ship within two days.

```python
# not a heading
print("code")

print("still code")
```
"""


def test_headings_lead_their_passages() -> None:
    passages = split_passages(PAGE, max_chars=200)
    pricing = next(p for p in passages if "$5" in p)
    assert pricing.startswith("## Pricing")
    assert "cancelled at any time" in pricing  # paragraphs of one section are merged
    shipping = next(p for p in passages if "two days" in p)
    assert shipping.startswith("## Shipping")


def test_small_sections_are_merged() -> None:
    passages = split_passages(PAGE, max_chars=200)
    assert any("Intro line" in p and "Acme makes widgets" in p for p in passages)
    assert all(len(p) >= 40 for p in passages)


def test_a_code_block_is_one_paragraph() -> None:
    passages = split_passages(PAGE, max_chars=800)
    code = next(p for p in passages if "print" in p)
    assert '# not a heading\nprint("code")\n\nprint("still code")' in code


@pytest.mark.parametrize("max_chars", [60, 200, 800])
def test_no_passage_is_longer_than_asked(max_chars: int) -> None:
    long_paragraph = " ".join(f"Sentence number {i} says something." for i in range(200))
    words_only = "word " * 1000
    no_spaces = "x" * 5000
    text = f"# Title\n\n{long_paragraph}\n\n{words_only}\n\n{no_spaces}\n\n" + "#" * 3 + " " + "H" * 2000
    passages = split_passages(PAGE + text, max_chars=max_chars)
    assert passages
    assert max(len(p) for p in passages) <= max_chars


def test_long_paragraphs_are_cut_at_sentence_ends() -> None:
    text = " ".join(f"Sentence {i} is here." for i in range(100))
    passages = split_passages(text, max_chars=100)
    assert all(p.endswith(".") for p in passages)
    assert " ".join(passages) == text


def test_nothing_to_split() -> None:
    assert split_passages("") == []
    assert split_passages("\n\n  \n") == []
    assert split_passages("Just one line.") == ["Just one line."]
