"""The result document of one page, and the normalized product found on it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

FORMATS: frozenset[str] = frozenset({"markdown", "metadata", "product", "links", "html"})
"""What a client can ask `extract_page` for; title, description, language and canonical
are always filled because they cost next to nothing."""

DEFAULT_FORMATS: frozenset[str] = frozenset({"markdown", "metadata", "product", "links"})
"""Everything but the raw HTML, which doubles the size of a result."""


class Product(BaseModel):
    """A product normalized from JSON-LD, microdata, RDFa or OpenGraph, whichever the page has."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    brand: str | None = None
    sku: str | None = None
    gtin: str | None = None
    price: float | None = None
    currency: str | None = None
    availability: str | None = None
    images: list[str] = Field(default_factory=list)
    rating: float | None = None
    review_count: int | None = None


class PageDocument(BaseModel):
    """What extraction returns for one fetched page.

    Every field has a default, so fields added later (an LLM `extract` answer, a
    `cached` flag) can be added here, or in a subclass, without breaking results
    already stored. Unknown keys are ignored on validation, never kept.
    """

    model_config = ConfigDict(extra="ignore")

    url: str
    status: int
    title: str | None = None
    description: str | None = None
    language: str | None = None
    canonical: str | None = None
    links: list[str] = Field(default_factory=list)
    markdown: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    product: Product | None = None
    html: str | None = None
    # True when the job reused an earlier scrape (`max_age_s`) instead of fetching.
    cached: bool = False
    # The LLM's answer to the job's `extract` schema, validated against it, and its token usage.
    extract: Any = None
    usage: dict[str, int] | None = None
