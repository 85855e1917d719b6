"""All metadata embedded in a page, each syntax read only when asked for and present.

JSON-LD, OpenGraph, Twitter cards and `<meta name>` come from the Lexbor tree the
page was parsed into (~0.1 ms). Microdata and RDFa need extruct, which needs an
lxml tree of its own, and RDFa (pyRdfa + rdflib) costs ~10 ms a page: each runs
only when the page has its markers (`itemscope` with an `itemtype` or `itemprop`;
`typeof`/`vocab`/non-OpenGraph `property`), and only that syntax.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import lxml.html
from extruct.rdfa import RDFaExtractor
from extruct.w3cmicrodata import MicrodataExtractor
from extruct.xmldom import XmlDomHTMLParser

from jobs.extract.html import ParsedPage
from jobs.extract.jsonld import parse_jsonld_blocks
from jobs.extract.text_caps import (
    MAX_META_ENTRIES,
    MAX_META_VALUE_CHARS,
    MAX_MICRODATA_HTML_CHARS,
    MAX_RDFA_HTML_CHARS,
)

logger = logging.getLogger(__name__)

OPENGRAPH_PREFIXES = ("og:", "fb:", "product:", "article:", "book:", "profile:", "music:", "video:")

# lxml refuses NUL and most C0 controls in text ("All strings must be XML compatible").
_XML_INCOMPATIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NOT_RDFA_PREFIXES = (*OPENGRAPH_PREFIXES, "twitter:")


@dataclass
class HeadMeta:
    """The `<meta>` tags of a page, read in one pass."""

    meta: dict[str, str] = field(default_factory=dict)
    """`<meta name=... content=...>`, names lower-cased, the first of each name kept."""
    opengraph: dict[str, str | list[str]] = field(default_factory=dict)
    """`og:*`, `product:*` ... properties; a property given more than once is a list."""
    twitter: dict[str, str] = field(default_factory=dict)
    """`twitter:*` cards (extruct does not read these)."""


def read_head_meta(page: ParsedPage) -> HeadMeta:
    head = HeadMeta()
    for node in page.tree.css("meta[content]"):
        attributes = node.attributes
        if "itemprop" in attributes:  # microdata, read with the item it belongs to
            continue
        content = (attributes.get("content") or "").strip()[:MAX_META_VALUE_CHARS]
        key = (attributes.get("property") or attributes.get("name") or "").strip().lower()
        if not key or len(key) > 200:
            continue
        if key.startswith("twitter:"):
            if len(head.twitter) < MAX_META_ENTRIES:
                head.twitter.setdefault(key, content)
        elif key.startswith(OPENGRAPH_PREFIXES):
            _add_opengraph(head.opengraph, key, content)
        if "name" in attributes and len(head.meta) < MAX_META_ENTRIES:
            head.meta.setdefault(key, content)
    return head


def _add_opengraph(opengraph: dict[str, str | list[str]], key: str, content: str) -> None:
    present = opengraph.get(key)
    if present is None:
        if len(opengraph) < MAX_META_ENTRIES:
            opengraph[key] = content
    elif isinstance(present, list):
        if len(present) < MAX_META_ENTRIES:
            present.append(content)
    else:
        opengraph[key] = [present, content]


class EmbeddedData:
    """The metadata of one parsed page; every part is computed on first use."""

    def __init__(self, page: ParsedPage) -> None:
        self.page = page

    @cached_property
    def jsonld(self) -> list[dict[str, Any]]:
        """Every JSON-LD object, `@graph` items lifted in; unreadable blocks skipped."""
        texts = (
            node.text()
            for node in self.page.tree.css("script[type]")
            if "ld+json" in (node.attributes.get("type") or "").lower()
        )
        return parse_jsonld_blocks(texts)

    @cached_property
    def head(self) -> HeadMeta:
        return read_head_meta(self.page)

    def has_microdata(self, *, products_only: bool = False) -> bool:
        """Whether the page has a microdata item worth extruct's own lxml parse.

        A bare `itemscope` (no `itemtype`, and no `itemprop` anywhere), common on a CMS
        template's `<article>`, is no item at all: it has nothing to say.
        """
        tree = self.page.tree
        if products_only:
            return tree.css_first("[itemscope][itemtype*=product i]") is not None
        return tree.css_first("[itemscope]") is not None and tree.css_first("[itemtype], [itemprop]") is not None

    def has_rdfa(self, *, products_only: bool = False) -> bool:
        tree = self.page.tree
        if products_only:
            return tree.css_first("[typeof*=product i]") is not None
        if tree.css_first("[typeof], [vocab]") is not None:
            return True
        # `property` is RDFa unless it is an OpenGraph/Twitter one (which the head reader covers).
        return any(
            not (node.attributes.get("property") or "").lower().startswith(_NOT_RDFA_PREFIXES)
            for node in tree.css("[property]")
        )

    @cached_property
    def microdata(self) -> list[dict[str, Any]]:
        """extruct's microdata items; [] without `itemscope`, on a huge page, or on failure."""
        if not self.has_microdata() or len(self.page.source) > MAX_MICRODATA_HTML_CHARS:
            return []
        items = self._extruct(
            "microdata", lxml.html.HTMLParser(encoding="utf-8", huge_tree=True), MicrodataExtractor().extract_items
        )
        # extruct gives an item with no type and no properties the whole text of its
        # element as "value": a bare `<article itemscope>` would copy the article.
        return [item for item in items if isinstance(item, dict) and (item.get("type") or item.get("properties"))]

    @cached_property
    def rdfa(self) -> list[dict[str, Any]]:
        """extruct's RDFa graph (expanded JSON-LD); [] without RDFa markers, on a big page, or on failure."""
        if not self.has_rdfa() or len(self.page.source) > MAX_RDFA_HTML_CHARS:
            return []
        nodes = self._extruct(
            "RDFa", XmlDomHTMLParser(encoding="utf-8", huge_tree=True), RDFaExtractor().extract_items
        )
        return [node for node in nodes if isinstance(node, dict)]

    def _extruct(self, what: str, parser: lxml.html.HTMLParser, extract_items: Callable[..., Any]) -> list[Any]:
        """The items `extract_items` (an extruct extractor's) finds in the page parsed by `parser`; [] on failure."""
        try:
            tree = lxml.html.document_fromstring(self._lxml_input(), parser=parser)
            items: list[Any] = extract_items(tree, base_url=self.page.resolver.base)
        except Exception as exc:  # extruct, pyRdfa, rdflib on hostile markup: any failure costs only this part
            logger.debug("%s extraction failed: %r", what, exc)
            return []
        return items

    def _lxml_input(self) -> bytes:
        return _XML_INCOMPATIBLE.sub("", self.page.source).encode("utf-8", errors="replace")

    def as_dict(self) -> dict[str, Any]:
        """The `metadata` field of a PageDocument."""
        return {
            "json-ld": self.jsonld,
            "microdata": self.microdata,
            "rdfa": self.rdfa,
            "opengraph": self.head.opengraph,
            "twitter": self.head.twitter,
            "meta": self.head.meta,
        }
