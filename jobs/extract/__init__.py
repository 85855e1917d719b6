"""Turn a fetched page into its result document: Markdown, metadata, product, links.

    extract_page(content, url=..., status=..., media_type=..., charset=...) -> PageDocument

Caps on everything a page can inflate live in `jobs.extract.text_caps`. Importing this
package is cheap: `extract_page` (Lexbor, lxml, extruct, rdflib: ~0.4 s to import) is
loaded on first use, so the API and the SDK can use the models alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.extract.decode import decode_html
from jobs.extract.document import DEFAULT_FORMATS, FORMATS, PageDocument, Product

if TYPE_CHECKING:
    from jobs.extract.page import extract_page

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "PageDocument",
    "Product",
    "decode_html",
    "extract_page",
]


def __getattr__(name: str) -> Any:
    if name == "extract_page":
        from jobs.extract.page import extract_page

        return extract_page
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
