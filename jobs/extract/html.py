"""Parse a page once with Lexbor (selectolax) and read the cheap parts of it.

Title, description, language, canonical and links all come from this one tree;
the metadata and Markdown modules read the same tree, so a page is parsed once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from jobs.extract.depth import flatten_deep_nesting
from jobs.extract.link_resolver import URLResolver
from jobs.extract.text_caps import MAX_LINKS, MAX_TEXT_FIELD_CHARS

_SPACES = re.compile(r"\s+")
# C0 controls but tab, newline, carriage return; they mean nothing in text and
# break whatever displays it.
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BYTES = bytes([*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])


@dataclass
class ParsedPage:
    """One parsed HTML page: the tree, the source it was parsed from, and its base URL."""

    tree: LexborHTMLParser
    source: str
    """The HTML as parsed: decoded, with absurdly deep nesting unwrapped."""
    resolver: URLResolver
    """Resolves hrefs against `<base href>` if the page has one, else the page URL."""


def parse_page(html: str, url: str) -> ParsedPage:
    """Parse `html`; never raises for any input (Lexbor recovers from everything)."""
    source = flatten_deep_nesting(html)
    tree = LexborHTMLParser(source)
    resolver = URLResolver(url)
    base = tree.css_first("base[href]")
    if base is not None:
        base_url = resolver.resolve(base.attributes.get("href"))
        if base_url is not None:
            resolver = URLResolver(base_url)
    return ParsedPage(tree=tree, source=source, resolver=resolver)


def clean_text(value: str | None) -> str | None:
    """Whitespace collapsed, cut to MAX_TEXT_FIELD_CHARS; None when nothing is left."""
    if not value:
        return None
    value = _SPACES.sub(" ", value[: MAX_TEXT_FIELD_CHARS * 2]).strip()
    return value[:MAX_TEXT_FIELD_CHARS] or None


def page_title(page: ParsedPage) -> str | None:
    """The document's `<title>`; an SVG icon's `<title>` in the body is not the page's."""
    node = page.tree.css_first("head > title")
    if node is None:
        node = next((title for title in page.tree.css("title") if not _in_svg(title)), None)
    return clean_text(node.text()) if node is not None else None


def _in_svg(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "svg":
            return True
        parent = parent.parent
    return False


def page_language(page: ParsedPage) -> str | None:
    """`<html lang>`, else a `Content-Language` meta."""
    root = page.tree.root
    if root is not None and root.tag == "html":
        lang = clean_text(root.attributes.get("lang") or root.attributes.get("xml:lang"))
        if lang:
            return lang
    for node in page.tree.css("meta[http-equiv]"):
        if (node.attributes.get("http-equiv") or "").lower() == "content-language":
            return clean_text(node.attributes.get("content"))
    return None


def page_canonical(page: ParsedPage) -> str | None:
    """The absolute URL of `<link rel="canonical">` (rel is a token list)."""
    for node in page.tree.css("link[rel][href]"):
        rel = (node.attributes.get("rel") or "").lower().split()
        if "canonical" in rel:
            canonical = page.resolver.resolve(node.attributes.get("href"))
            if canonical is not None:
                return canonical[:MAX_TEXT_FIELD_CHARS]
    return None


def page_links(page: ParsedPage) -> list[str]:
    """Absolute http(s) links of `<a>` and `<area>`, without fragments, deduped in order."""
    resolve = page.resolver.resolve
    links: dict[str, None] = {}  # a dict keeps first-seen order
    for node in page.tree.css("a[href], area[href]"):
        link = resolve(node.attrs.get("href"))
        if link is not None and link not in links:
            links[link] = None
            if len(links) >= MAX_LINKS:
                break
    return list(links)


def strip_controls(text: str) -> str:
    """`text` without C0 control characters (tab, newline, carriage return stay)."""
    # Checked on the bytes first: bytes.translate is ~10x faster than a regex search on str.
    encoded = text.encode("utf-8", errors="surrogatepass")
    if len(encoded.translate(None, _CONTROL_BYTES)) == len(encoded):
        return text
    return _CONTROLS.sub("", text)
