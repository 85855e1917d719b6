"""JSON-LD blocks, parsed leniently: one broken block never costs the others.

Real pages ship JSON-LD with trailing commas, JavaScript comments, raw newlines in
strings, `\\'` escapes, HTML entities instead of quotes, CDATA or comment wrappers,
and two objects in one block. Strict parsing (orjson) goes first because it is
fast and almost always enough; the repairs run only when it fails.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

import orjson

from jobs.extract.text_caps import MAX_JSONLD_BLOCK_CHARS, MAX_JSONLD_BLOCKS

_WRAPPERS = re.compile(r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)|(?://\s*)?(?:-->|\]\]>)\s*$")

# One pass that sees strings first, so `//` in a URL is not taken for a comment:
# a string literal, a // or /* */ comment, or a comma right before } or ].
_LEXEMES = re.compile(r'"(?:[^"\\]|\\.)*"|//[^\n]*|/\*.*?(?:\*/|\Z)|,(?=\s*[}\]])', re.S)
_ESCAPE = re.compile(r"\\(.)", re.S)
_VALID_ESCAPES = frozenset('"\\/bfnrtu')
_SEPARATORS = frozenset(" \t\r\n\f;,")


def _int_or_float(text: str) -> int | float:
    # As orjson does on the strict path: an integer past 64 bits becomes a float, so the
    # result stays serializable by orjson (which refuses bigger ints) whichever path read it.
    value = int(text)
    return value if -(2**63) <= value < 2**64 else float(value)


# strict=False admits raw control characters in strings.
_DECODER = json.JSONDecoder(strict=False, parse_int=_int_or_float)


def parse_jsonld(text: str) -> Any | None:
    """The value of one JSON-LD block, repaired if need be; None if it cannot be read."""
    if not text or len(text) > MAX_JSONLD_BLOCK_CHARS:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    repaired = _repair(_WRAPPERS.sub("", text))
    value = _decode_all(repaired)
    if value is None and "&" in text:  # `{&quot;name&quot;: ...}`: entities where quotes belong
        value = _decode_all(_repair(html.unescape(_WRAPPERS.sub("", text))))
    return value


def flatten_jsonld(blocks: Iterable[Any]) -> list[dict[str, Any]]:
    """Top-level JSON-LD objects, with lists unpacked and `@graph` items lifted into the list.

    A wrapper that holds nothing but `@context` and `@graph` is replaced by its items;
    the items get the wrapper's `@context` when they have none, so each stands alone.
    """
    items: list[dict[str, Any]] = []
    for block in blocks:
        for item in block if isinstance(block, list) else [block]:
            if not isinstance(item, dict):
                continue
            graph = item.get("@graph")
            if graph is None:
                items.append(item)
                continue
            rest = {key: value for key, value in item.items() if key != "@graph"}
            if set(rest) - {"@context"}:
                items.append(rest)
            context = item.get("@context")
            for node in graph if isinstance(graph, list) else [graph]:
                if isinstance(node, dict):
                    if context is not None and "@context" not in node:
                        node = {"@context": context, **node}
                    items.append(node)
    return items


def parse_jsonld_blocks(texts: Iterable[str]) -> list[dict[str, Any]]:
    """Parse up to MAX_JSONLD_BLOCKS script bodies, skip the unreadable, flatten the rest."""
    blocks = []
    for count, text in enumerate(texts):
        if count >= MAX_JSONLD_BLOCKS:
            break
        value = parse_jsonld(text)
        if value is not None:
            blocks.append(value)
    return flatten_jsonld(blocks)


def _repair(text: str) -> str:
    """Drop comments and trailing commas, fix invalid escapes; strings stay as they are."""

    def fix(match: re.Match[str]) -> str:
        lexeme = match.group()
        if lexeme.startswith('"'):
            return _ESCAPE.sub(_fix_escape, lexeme) if "\\" in lexeme else lexeme
        return ""  # a comment or a trailing comma

    # Twice: removing `/* x */` in `[1,/* x */]` exposes a trailing comma.
    return _LEXEMES.sub(fix, _LEXEMES.sub(fix, text))


def _fix_escape(match: re.Match[str]) -> str:
    """`\\'` (JavaScript) becomes `'`; valid JSON escapes stay."""
    return match.group() if match.group(1) in _VALID_ESCAPES else match.group(1)


def _decode_all(text: str) -> Any | None:
    """One JSON value, or a list of them when a block holds several (`{...}{...}` or `{...};`)."""
    values: list[Any] = []
    position = _skip_separators(text, 0)
    try:
        while position < len(text):
            value, position = _DECODER.raw_decode(text, position)
            values.append(value)
            position = _skip_separators(text, position)
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; RecursionError: too deep
        pass
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _skip_separators(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SEPARATORS:
        position += 1
    return position
