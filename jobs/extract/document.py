"""The result document of one page, and the normalized product found on it."""

from __future__ import annotations

from pydantic import ConfigDict

from jobs.models import PageFields, ProductFields

FORMATS: frozenset[str] = frozenset({"markdown", "metadata", "product", "links", "html"})
"""What a client can ask `extract_page` for; title, description, language and canonical
are always filled because they cost next to nothing."""

DEFAULT_FORMATS: frozenset[str] = frozenset({"markdown", "metadata", "product", "links"})
"""Everything but the raw HTML, which doubles the size of a result."""


class Product(ProductFields):
    """A product normalized from JSON-LD, microdata, RDFa or OpenGraph, whichever the page has."""

    model_config = ConfigDict(extra="forbid")


class PageDocument(PageFields):
    """What extraction returns for one fetched page.

    Every field has a default, so fields added later (an LLM `extract` answer, a
    `cached` flag) can be added to `PageFields`, or here, without breaking results
    already stored. Unknown keys are ignored on validation, never kept.
    """

    model_config = ConfigDict(extra="ignore")

    status: int
    product: Product | None = None
