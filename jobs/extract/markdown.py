"""The main content of a page as Markdown: boilerplate pruned with Lexbor, converted in Rust.

Why not trafilatura: ~20 ms a 55 KB page here (its own lxml parse and scoring)
against ~2 ms, and on the fixture pages this path keeps all of trafilatura's main
text but the comments (bench/extract_costs.py prints the comparison). Why not
resiliparse's main-content mode: it gives plain text, losing tables, emphasis and
links. Why not a Markdown writer in Python over the Lexbor tree: tried, no faster
than html-to-markdown's ~1.5 us an element. So: pick the content root (`<main>`,
`[role=main]`, a single `<article>`, else `<body>`), delete what is boilerplate by
its tag, role or class (nav, header, footer, aside, cookie banners, forms, hidden
nodes), and let html-to-markdown (Rust) write the rest.

This mutates the tree: it runs after everything else has read it.
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import replace

from html_to_markdown import ConversionError, ConversionOptions, PreprocessingOptions, convert
from selectolax.lexbor import LexborNode

from jobs.extract.html import ParsedPage, strip_controls
from jobs.extract.text_caps import (
    MAX_MARKDOWN_ATTRIBUTE_CHARS,
    MAX_MARKDOWN_CHARS,
    MAX_MARKDOWN_DEPTH,
    MAX_MARKDOWN_INPUT_CHARS,
    cut_text,
)

logger = logging.getLogger(__name__)

# Elements that are never main content, wherever they are under the content root.
_BOILERPLATE_TAGS = (
    "script, style, noscript, template, svg, canvas, iframe, object, embed, form, button, "
    "select, textarea, input, dialog, nav, aside, footer"
)
# ARIA landmarks and widgets that are page furniture, not content.
_BOILERPLATE_ROLES = frozenset(
    {
        "navigation", "banner", "contentinfo", "complementary", "search", "dialog",
        "alertdialog", "menu", "menubar", "toolbar", "tablist",
    }
)  # fmt: skip
# A class (or, for the commonest, an id) containing one of these words marks a
# cookie banner, a share bar, a "related products" rail ... Each word costs Lexbor
# ~8 us a page, so the list holds the words that pay for themselves.
_BOILERPLATE_CLASS_WORDS = (
    "cookie", "consent", "gdpr", "newsletter", "breadcrumb", "sidebar", "share", "social",
    "advert", "popup", "modal", "skip-link", "related", "recommend", "comments", "menu",
    "navbar", "navigation", "footer", "masthead",
)  # fmt: skip
_BOILERPLATE_ID_WORDS = (
    "cookie", "consent", "gdpr", "onetrust", "sidebar", "comments", "menu", "nav", "footer",
    "header", "masthead",
)  # fmt: skip
# Matched as CSS's `[class*=word i]` would (an ASCII-case-insensitive substring), in
# Python over the nodes that have a class or id: Lexbor's selectors visit every node once
# per word (~200 us on a 55 KB page), and a regex alternation costs ~4 us a node. First the
# words in any class (or id) of the page at all, on one joined string; then only those,
# node by node: most pages have two or three of them, many none.
_CLASS_WORDS = tuple(word.encode() for word in _BOILERPLATE_CLASS_WORDS)
_ID_WORDS = tuple(word.encode() for word in _BOILERPLATE_ID_WORDS)
# Where the content lives on pages without <main> or a single <article>, the most
# telling markers first (schema.org microdata, then CMS classes, then common ids).
_CONTENT_CONTAINERS = (
    "[itemprop=articleBody]",
    ".entry-content, .post-content, .article-body, .article-content, .post-body",
    "#content, #main-content, #maincontent, #main, #primary",
)
# A candidate root with less text than this is a stub (an empty <main> a script fills).
_MIN_ROOT_TEXT = 50
_SECTIONING = frozenset({"article", "section", "main"})
_MAYBE_HIDDEN = "[role], [hidden], [aria-hidden], [aria-modal], [style*=display i], [style*=visibility i]"

_OPTIONS = ConversionOptions(
    extract_metadata=False,  # the metadata module reads <head>; not twice
    preprocessing=PreprocessingOptions(enabled=False),  # pruning is done, and tested, here
    max_depth=MAX_MARKDOWN_DEPTH,
    autolinks=False,
    tier_strategy="tier1",
)

# html-to-markdown's public convert() rebuilds its Rust options from the dataclass on
# every call, coercing each enum field in Python: ~80 us, as much as converting a small
# page, and no public call takes prebuilt options. Its private native module takes Rust
# options built directly (~5 us): html-to-markdown is bounded below 3.22, and
# tests/repo/test_library_internals.py fails, naming it, if a release moves it. The
# public API stays the fallback at run time.
try:
    from html_to_markdown import _html_to_markdown as _native

    _NATIVE_PREPROCESSING: _native.PreprocessingOptions | None = _native.PreprocessingOptions(enabled=False)
    _NATIVE_TIER1 = _native.TierStrategy.TIER1
except (ImportError, AttributeError):  # pragma: no cover - depends on the installed release
    _NATIVE_PREPROCESSING = None

_BLANK_LINES = re.compile(r"\n{3,}")
# Only big inputs are scanned for huge attribute values: on a normal page the scan
# would cost more than it could ever save.
_ATTRIBUTE_SCAN_MIN_CHARS = 256_000
_LONG_ATTRIBUTE = re.compile(
    rf"""="[^"]{{{MAX_MARKDOWN_ATTRIBUTE_CHARS},}}"|='[^']{{{MAX_MARKDOWN_ATTRIBUTE_CHARS},}}'"""
)


def content_root(page: ParsedPage) -> LexborNode | None:
    """`<main>`, else `[role=main]`, else the only `<article>`, else a container whose
    id or class says content (`#content`, `.entry-content` ...), else `<body>`."""
    tree = page.tree
    for selector in ("main", "[role=main]"):
        node = tree.css_first(selector)
        if node is not None and len(node.text(strip=True)) >= _MIN_ROOT_TEXT:
            return node
    articles = tree.css("article")
    if len(articles) == 1:
        return articles[0]
    for selector in _CONTENT_CONTAINERS:
        node = tree.css_first(selector)
        if node is not None and len(node.text(strip=True)) >= _MIN_ROOT_TEXT:
            return node
    return tree.body


def prune(root: LexborNode) -> None:
    """Delete boilerplate under `root`: by tag, by ARIA role or hiding, by class or id."""
    for node in root.css(_BOILERPLATE_TAGS):
        node.decompose()  # a node inside one already removed is just unlinked again: safe
    for node in boilerplate_by_name(root):
        node.decompose()
    for node in root.css(_MAYBE_HIDDEN):
        if _is_hidden_or_furniture(node):
            node.decompose()
    # A `javascript:` link in Markdown is a script waiting for a careless renderer: keep its text only.
    for node in root.css("a[href*='script:' i], a[href*='data:' i]"):
        href = "".join((node.attributes.get("href") or "").split()).lower()
        if href.startswith(("javascript:", "vbscript:", "data:")):
            del node.attrs["href"]
    # A <header> is the site's masthead unless it heads a section of the content (an
    # article's headline and byline, a product's title): under <main> or <article>
    # every header is content; under <body>, those inside a sectioning element are.
    if root.tag == "body":
        for node in root.css("header"):
            if not _inside_section(node, root):
                node.decompose()


def boilerplate_by_name(root: LexborNode) -> list[LexborNode]:
    """The nodes under `root` whose class or id holds a boilerplate word, ASCII case ignored."""
    named: dict[int, tuple[LexborNode, bytes, bytes]] = {}
    for node in root.css("[class], [id]"):  # a node with both comes twice: Lexbor does not merge a list's matches
        attributes = node.attributes
        named[node.mem_id] = (node, _ascii_lower(attributes.get("class")), _ascii_lower(attributes.get("id")))
    classes = b" ".join(class_name for _, class_name, _ in named.values())
    ids = b" ".join(node_id for _, _, node_id in named.values())
    class_words = _one_of(tuple(word for word in _CLASS_WORDS if word in classes))
    id_words = _one_of(tuple(word for word in _ID_WORDS if word in ids))
    return [
        node
        for node, class_name, node_id in named.values()
        if class_words.search(class_name) or id_words.search(node_id)
    ]


@functools.lru_cache(maxsize=256)
def _one_of(words: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """A pattern that finds any of `words` (none: one that never matches)."""
    return re.compile(b"|".join(map(re.escape, words)) if words else rb"(?!)")


def _ascii_lower(value: str | None) -> bytes:
    """`value` with ASCII letters in lower case and no other change, as CSS's `i` flag compares."""
    return value.encode("utf-8", "surrogatepass").lower() if value else b""


def _is_hidden_or_furniture(node: LexborNode) -> bool:
    attributes = node.attributes
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    if attributes.get("aria-modal") == "true":
        return True
    style = (attributes.get("style") or "").replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    return (attributes.get("role") or "").strip().lower() in _BOILERPLATE_ROLES


def _inside_section(node: LexborNode, root: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.tag in _SECTIONING:
            return True
        parent = parent.parent
    return False


def main_markdown(page: ParsedPage) -> str | None:
    """The main content as Markdown; None when there is no content root or conversion fails."""
    root = content_root(page)
    if root is None:
        return None
    prune(root)
    source = root.html or ""
    if len(source) > _ATTRIBUTE_SCAN_MIN_CHARS:
        source = _LONG_ATTRIBUTE.sub('=""', source)
    source = source[:MAX_MARKDOWN_INPUT_CHARS]
    try:
        text = strip_controls(_convert(source, page.resolver.base) or "")
    except ConversionError as exc:  # its whole error tree, Rust panics included (PanicError)
        logger.debug("markdown conversion failed: %r", exc)
        return None
    if "\n\n\n" in text:  # a plain find is far cheaper than the regex on a page of text
        text = _BLANK_LINES.sub("\n\n", text)
    text = text.strip()
    return cut_text(text, MAX_MARKDOWN_CHARS) or None


def _convert(source: str, base_url: str) -> str | None:
    """html-to-markdown on `source`; `base_url` makes relative links and images absolute."""
    if _NATIVE_PREPROCESSING is not None:
        options = _native.ConversionOptions(
            extract_metadata=False,
            preprocessing=_NATIVE_PREPROCESSING,
            max_depth=MAX_MARKDOWN_DEPTH,
            autolinks=False,
            base_url=base_url,
            tier_strategy=_NATIVE_TIER1,
        )
        return _native.convert(html=source, options=options, visitor=None).content
    return convert(source, replace(_OPTIONS, base_url=base_url)).content
