"""JSON, XML and plain-text bodies as Markdown: no metadata, no title, never a crash."""

from __future__ import annotations

import contextlib
import re

import lxml.etree
import orjson

from jobs.extract.html import strip_controls
from jobs.extract.text_caps import MAX_JSON_PRETTY_INPUT_CHARS, MAX_MARKDOWN_CHARS, cut_text

_BACKTICK_RUNS = re.compile(r"`{3,}")
_TAGS = re.compile(r"<[^<>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")

# No DTDs, no entity expansion (billion laughs), no network, no giant text nodes;
# `recover` keeps whatever parsed before an error.
_XML_PARSER = lxml.etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=True
)


def json_markdown(text: str) -> str | None:
    """A fenced ```json block of the re-indented body (or of the body as is, if not JSON)."""
    body = text.strip()
    if not body:
        return None
    if len(body) <= MAX_JSON_PRETTY_INPUT_CHARS:
        # Not JSON after all (or nested past orjson's limit): fenced as it is.
        with contextlib.suppress(orjson.JSONDecodeError, orjson.JSONEncodeError):
            body = orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    body = cut_text(body, MAX_MARKDOWN_CHARS - 64)
    longest = max((len(run) for run in _BACKTICK_RUNS.findall(body)), default=2)
    fence = "`" * (longest + 1)  # a fence longer than any run of backticks inside
    return f"{fence}json\n{body}\n{fence}"


def text_markdown(text: str) -> str | None:
    """Plain text is its own Markdown (cut to MAX_MARKDOWN_CHARS)."""
    body = cut_text(strip_controls(text).strip(), MAX_MARKDOWN_CHARS)
    return body or None


def xml_markdown(content: bytes) -> str | None:
    """The text content of an XML document, one text node a line."""
    try:
        root = lxml.etree.fromstring(content, parser=_XML_PARSER)
    except (lxml.etree.LxmlError, ValueError):
        root = None
    if root is None:  # nothing parsed: strip the tags by hand
        text = _TAGS.sub("\n", content[: MAX_MARKDOWN_CHARS * 4].decode("utf-8", errors="replace"))
        text = _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text))
        return text_markdown(text)
    parts: list[str] = []
    size = 0
    for piece in root.itertext():
        piece = " ".join(piece.split())
        if piece:
            parts.append(piece)
            size += len(piece) + 1
            if size > MAX_MARKDOWN_CHARS:
                break
    return text_markdown("\n".join(parts))
