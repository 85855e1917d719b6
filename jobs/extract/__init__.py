"""Turn a fetched page into its result document: Markdown, metadata, product, links.

    extract_page(content, url=..., status=..., media_type=..., charset=...) -> PageDocument

Caps on everything a page can inflate live in `jobs.extract.limits`.
"""

from jobs.extract.decode import decode_html
from jobs.extract.document import DEFAULT_FORMATS, FORMATS, PageDocument, Product
from jobs.extract.page import extract_page

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "PageDocument",
    "Product",
    "decode_html",
    "extract_page",
]
