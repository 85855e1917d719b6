"""Caps on what extraction reads and returns, so a hostile page costs bounded time and memory.

Every number a page can push up is capped here, in one place; the modules import
them by name. A cap cuts the output short (the result stays useful), it never fails
the page.
"""

from __future__ import annotations

# --- what a PageDocument returns -------------------------------------------------

MAX_LINKS = 5_000
"""Links kept per page (the first ones in document order, after dedup)."""

MAX_MARKDOWN_CHARS = 1_000_000
"""Markdown kept per page (about 1 MB of text); longer output is cut at a line end."""

MAX_TEXT_FIELD_CHARS = 2_000
"""title, description, language and canonical are cut to this many characters."""

MAX_META_ENTRIES = 300
"""`<meta name>` / OpenGraph / Twitter entries kept per page, each."""

MAX_META_VALUE_CHARS = 10_000
"""One meta, OpenGraph or Twitter value is cut to this many characters."""

MAX_IMAGES = 50
"""Product images kept."""

MAX_HTML_FIELD_CHARS = 10_000_000
"""The raw `html` field (format "html") is cut to this many characters."""

# --- what extraction reads --------------------------------------------------------

MAX_HTML_DEPTH = 256
"""Elements nested deeper than this are unwrapped (their text is kept).

Lexbor's tree builder is quadratic in nesting depth for block elements (100,000
nested <div>s take ~18 s), libxml2 stops parsing at depth 256, and the microdata,
RDFa and Markdown walkers recurse. Browsers cap depth too (Blink at 512).
"""

DEPTH_SCAN_MIN_TAGS = 10_000
"""Pages with fewer `<` than this skip the depth scan (~0.5 us a tag): nested as deep as
they can be, they still parse in ~0.2 s, and deep trees fail gracefully further on."""

MAX_JSONLD_BLOCKS = 100
"""`<script type="application/ld+json">` blocks read per page."""

MAX_JSONLD_BLOCK_CHARS = 2_000_000
"""A JSON-LD block longer than this is skipped."""

MAX_JSON_DEPTH = 64
"""Walks over parsed JSON-LD / microdata / RDFa go at most this deep."""

MAX_JSON_NODES = 20_000
"""Walks over parsed JSON-LD / microdata / RDFa visit at most this many nodes."""

MAX_MICRODATA_HTML_CHARS = 5_000_000
"""Microdata (extruct, lxml) runs only on pages up to this size."""

MAX_RDFA_HTML_CHARS = 1_000_000
"""RDFa (extruct: pyRdfa + rdflib, ~35 ms on the 55 KB bench page) runs only on pages up
to this size."""

MAX_URL_CHARS = 8_192
"""Longer hrefs are ignored: no server accepts them, and urljoin on megabytes is slow."""

MAX_MARKDOWN_INPUT_CHARS = 2_000_000
"""Main-content HTML longer than this is cut before conversion to Markdown (html-to-markdown
costs ~1.5 us an element: 2 MB of markup is ~1 s, and more than MAX_MARKDOWN_CHARS of text)."""

MAX_MARKDOWN_ATTRIBUTE_CHARS = 4_096
"""In main-content HTML over 256 KB, attribute values longer than this are emptied before
conversion, so a 5 MB `data-*` value cannot push the text out of MAX_MARKDOWN_INPUT_CHARS."""

MAX_MARKDOWN_DEPTH = 1_024
"""html-to-markdown's own traversal depth limit (its default), stated here to be explicit."""

MAX_JSON_PRETTY_INPUT_CHARS = 2_000_000
"""JSON bodies longer than this are not re-indented, only fenced (and cut)."""


def cut_text(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a line end if one is in the last half."""
    if len(text) <= limit:
        return text
    end = text.rfind("\n", limit // 2, limit)
    return text[: end if end > 0 else limit]
