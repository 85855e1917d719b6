"""extract_page: a fetched body in, a PageDocument out, whatever the body holds.

The order matters for speed: the page is decoded and parsed once; links, head
fields, metadata and product read the tree; the Markdown step prunes the tree
in place, so it runs last.
"""

from __future__ import annotations

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
from jobs.extract.markdown import main_markdown
from jobs.extract.metadata import EmbeddedData
from jobs.extract.nonhtml import json_markdown, text_markdown, xml_markdown
from jobs.extract.product import merge_products, product_from_nodes, product_from_opengraph
from jobs.extract.schema import microdata_to_jsonld, rdfa_to_jsonld
from jobs.extract.text_caps import MAX_HTML_FIELD_CHARS
from jobs.fetch.content_sniffing import content_kind, refuse_binary


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
            refuse_binary(content, text, media_type)
            document.markdown = json_markdown(text) if kind == "json" else text_markdown(text)
    if "html" in formats:
        document.html = decode_text(content, charset)[:MAX_HTML_FIELD_CHARS]
    return document


def _extract_html(
    content: bytes, *, url: str, status: int, charset: str | None, formats: frozenset[str]
) -> PageDocument:
    text = decode_html(content, charset)
    refuse_binary(content, text, "text/html")
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


def _first(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value
