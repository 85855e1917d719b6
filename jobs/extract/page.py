"""extract_page: a fetched body in, a PageDocument out, whatever the body holds.

The order matters for speed: the page is decoded and parsed once; links, head
fields, metadata and product read the tree; the Markdown step prunes the tree
in place, so it runs last.
"""

from __future__ import annotations

import re

from jobs.errors import ExtractionError
from jobs.extract.decode import decode_html, decode_text
from jobs.extract.document import DEFAULT_FORMATS, FORMATS, PageDocument, Product
from jobs.extract.html import (
    ParsedPage,
    clean_text,
    page_canonical,
    page_language,
    page_links,
    page_title,
    parse_page,
)
from jobs.extract.limits import MAX_HTML_FIELD_CHARS
from jobs.extract.markdown import main_markdown
from jobs.extract.metadata import EmbeddedData
from jobs.extract.nonhtml import json_markdown, text_markdown, xml_markdown
from jobs.extract.product import merge_products, product_from_nodes, product_from_opengraph
from jobs.extract.schema import microdata_to_jsonld, rdfa_to_jsonld

_BINARY_SAMPLE_CHARS = 8_192
_BINARY_RATIO = 0.05
# Control characters other than tab, newline, form feed, carriage return: text has
# next to none, binary data ~11% (one byte value in nine). U+FFFD is not counted: it
# comes from a wrong charset, which is no reason to give up on a page.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
# Any of these near the start is a page, however many NUL bytes surround it.
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|meta|title|div|p[\s>]|script|link|table)", re.I)


def extract_page(
    content: bytes,
    *,
    url: str,
    status: int,
    media_type: str,
    charset: str | None,
    formats: frozenset[str] = DEFAULT_FORMATS,
) -> PageDocument:
    """Extract `formats` from one fetched body.

    Raises ExtractionError only when nothing can be read at all (binary data, or a
    parser failure); every other problem leaves the affected field empty.
    """
    unknown = formats - FORMATS
    if unknown:
        raise ValueError(f"unknown formats: {sorted(unknown)}; known: {sorted(FORMATS)}")
    kind = content_kind(media_type, content)
    if kind == "html":
        return _extract_html(content, url=url, status=status, charset=charset, formats=formats)
    document = PageDocument(url=url, status=status)
    if "markdown" in formats:
        if kind == "xml":
            document.markdown = xml_markdown(content)
        else:
            text = decode_text(content, charset)
            _refuse_binary(text, media_type)
            document.markdown = json_markdown(text) if kind == "json" else text_markdown(text)
    if "html" in formats:
        document.html = decode_text(content, charset)[:MAX_HTML_FIELD_CHARS]
    return document


def content_kind(media_type: str, content: bytes) -> str:
    """ "html", "json", "xml" or "text", from the media type, else from the first bytes."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    if media_type in (
        "text/html",
        "application/xhtml+xml",
        "application/xhtml",
        "application/vnd.wap.xhtml+xml",
    ):
        return "html"
    if media_type.endswith(("/json", "+json")):
        return "json"
    if media_type.endswith(("/xml", "+xml")):
        return "xml"
    if media_type.startswith("text/"):
        return "text"
    start = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()  # unknown type: sniff
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<div", b"<p")):
        return "html"
    if start.startswith(b"<?xml"):
        return "xml"
    if start.startswith((b"{", b"[")):
        return "json"
    return "html" if start.startswith(b"<") else "text"


def _extract_html(
    content: bytes, *, url: str, status: int, charset: str | None, formats: frozenset[str]
) -> PageDocument:
    text = decode_html(content, charset)
    _refuse_binary(text, "text/html")
    try:
        page = parse_page(text, url)
    except Exception as exc:  # Lexbor recovers from any markup; this is memory or a bug
        raise ExtractionError(f"could not parse the page as HTML: {exc}") from exc
    embedded = EmbeddedData(page)
    head = embedded.head
    document = PageDocument(
        url=url,
        status=status,
        title=page_title(page) or clean_text(_first(head.opengraph.get("og:title"))),
        description=clean_text(
            head.meta.get("description")
            or _first(head.opengraph.get("og:description"))
            or head.twitter.get("twitter:description")
        ),
        language=page_language(page),
        canonical=page_canonical(page),
    )
    if "links" in formats:
        document.links = page_links(page)
    if "metadata" in formats:
        document.metadata = embedded.as_dict()
    if "product" in formats:
        document.product = _product(page, embedded)
    if "html" in formats:
        document.html = text[:MAX_HTML_FIELD_CHARS]
    if "markdown" in formats:
        document.markdown = main_markdown(page)
    return document


def _product(page: ParsedPage, embedded: EmbeddedData) -> Product | None:
    """JSON-LD, then microdata, then RDFa, then OpenGraph; the costly ones only if needed."""
    resolver = page.resolver

    def from_jsonld() -> Product | None:
        return product_from_nodes(embedded.jsonld, resolver)

    def from_microdata() -> Product | None:
        if not embedded.has_microdata(products_only=True):
            return None
        return product_from_nodes(microdata_to_jsonld(embedded.microdata), resolver)

    def from_rdfa() -> Product | None:
        if not embedded.has_rdfa(products_only=True):
            return None
        return product_from_nodes(rdfa_to_jsonld(embedded.rdfa), resolver)

    def from_opengraph() -> Product | None:
        return product_from_opengraph(embedded.head.opengraph, resolver)

    return merge_products([from_jsonld, from_microdata, from_rdfa, from_opengraph])


def _refuse_binary(text: str, media_type: str) -> None:
    """Raise ExtractionError when the body is binary data (an image or archive served as text)."""
    sample = text[:_BINARY_SAMPLE_CHARS]
    if not sample or _MARKUP.search(sample):
        return
    bad = len(_CONTROL.findall(sample))
    if bad > 16 and bad > len(sample) * _BINARY_RATIO:  # a few stray control bytes are still text
        kind = media_type.split(";", 1)[0].strip() or "text"
        raise ExtractionError(
            f"the body is binary data, not {kind} ({bad} of its first {len(sample)} characters are not text)"
        )


def _first(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value
