"""Unwrap elements nested absurdly deep, before any parser sees the page.

Lexbor's tree builder checks "a <p> in button scope" on every block start tag by
walking the stack of open elements, so depth d costs O(d^2): 100,000 nested <div>s
take ~18 s. libxml2 gives up at depth 256 (dropping the rest of the page), and the
microdata, RDFa and Markdown walkers recurse. So tags deeper than MAX_HTML_DEPTH are
cut out of the source (their text stays), as browsers flatten too deep trees.

The scan is a regex tokenizer, not a parser: it skips comments and raw-text elements,
and ignores void elements and those whose end tag is optional (p, li, td ...), so its
depth is an estimate that real pages never come near. Small pages skip it entirely;
big ones first get a cheaper estimate (start/end tag balance, summed in C), and only
pages that estimate puts too deep pay for the exact tokenizer loop.
"""

from __future__ import annotations

import re
from itertools import accumulate

from jobs.extract.text_caps import DEPTH_SCAN_MIN_TAGS, MAX_HTML_DEPTH

# `[^<>]*` (not `[^>]*`) keeps the scan linear on `<a <a <a ...` without any `>`.
_TOKEN = re.compile(r"<!--|<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^<>]*>")
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "noscript"})
_RAW_TEXT_END = {name: re.compile(rf"</{name}\s*>", re.I) for name in _RAW_TEXT}

# Elements that cannot make the stack grow by repetition: void elements, those whose
# end tag the parser implies (p, li, td ...), and those a second start tag closes or
# ignores instead of nesting (a, button, form, headings, select): a page that forgets
# to close its links must not look deep, or its links would be unwrapped.
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "keygen", "frame",
        "p", "li", "dt", "dd", "option", "optgroup", "tr", "td", "th", "thead", "tbody", "tfoot",
        "colgroup", "caption", "rb", "rt", "rtc", "rp",
        "a", "nobr", "button", "form", "select", "h1", "h2", "h3", "h4", "h5", "h6",
        "html", "head", "body",
    }
)  # fmt: skip

# Start or end tags of elements that nest; the group is "/" for an end tag. Case is
# folded with character classes ([bB][rR]): the re.I flag makes this scan 2x slower.
_ANY_CASE_FLAT = "|".join(
    "".join(f"[{char.lower()}{char.upper()}]" for char in name)
    for name in sorted(_FLAT, key=len, reverse=True)
)
_NESTING_TAG = re.compile(rf"<(/?)(?!(?:{_ANY_CASE_FLAT})[\s/>])[a-zA-Z]")
_DEPTH_STEP = {"": 1, "/": -1}


def _never_negative(depth: int, step: int) -> int:
    # Stray end tags must not hide a deep run after them ("</div>" * n + "<div>" * n).
    return depth + step if depth + step > 0 else 0


def estimated_depth(html: str) -> int:
    """An upper-bound-ish estimate of the nesting depth; no Python loop over the tags."""
    steps = map(_DEPTH_STEP.__getitem__, _NESTING_TAG.findall(html))
    return max(accumulate(steps, _never_negative), default=0)


_CLOSE_SEARCH = 16
"""How far down the stack an end tag looks for its element (stray end tags are ignored)."""


def flatten_deep_nesting(html: str) -> str:
    """`html` with tags deeper than MAX_HTML_DEPTH removed; the same object if none are."""
    if html.count("<") < DEPTH_SCAN_MIN_TAGS or estimated_depth(html) <= MAX_HTML_DEPTH:
        return html
    stack: list[tuple[str, bool]] = []  # (tag name, removed)
    cut: list[tuple[int, int]] = []
    position = 0
    while (match := _TOKEN.search(html, position)) is not None:
        position = match.end()
        name = match.group(2)
        if name is None:  # a comment: skip to its end
            end = html.find("-->", position)
            position = len(html) if end < 0 else end + 3
            continue
        name = name.lower()
        if name in _RAW_TEXT and not match.group(1):
            raw_end = _RAW_TEXT_END[name].search(html, position)
            position = len(html) if raw_end is None else raw_end.end()
            continue
        if name in _FLAT or html[position - 2] == "/":  # void or `<x/>`
            continue
        if not match.group(1):  # a start tag
            too_deep = len(stack) >= MAX_HTML_DEPTH
            if too_deep:
                cut.append(match.span())
            stack.append((name, too_deep))
            continue
        for index in range(len(stack) - 1, max(len(stack) - 1 - _CLOSE_SEARCH, -1), -1):
            if stack[index][0] == name:
                if stack[index][1]:
                    cut.append(match.span())
                del stack[index:]
                break
    if not cut:
        return html
    parts: list[str] = []
    position = 0
    for start, end in cut:
        parts.append(html[position:start])
        position = end
    parts.append(html[position:])
    return "".join(parts)
