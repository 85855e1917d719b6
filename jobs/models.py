"""The shapes clients see: job requests, job records and their states.

Pure pydantic: the async SDK imports this module, so it must not import arq,
Starlette or anything that runs jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from jobs.webhooks.delivery import WebhookSpec

MAX_URL_LENGTH = 2048


class JobStatus(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})


class Format(StrEnum):
    """What a scrape extracts from a page; each costs time (README lists how much)."""

    MARKDOWN = "markdown"
    METADATA = "metadata"
    PRODUCT = "product"
    LINKS = "links"
    HTML = "html"


DEFAULT_FORMATS = (Format.MARKDOWN, Format.METADATA, Format.PRODUCT, Format.LINKS)


class _Request(BaseModel):
    """Options every job kind takes: how long, how often, how urgent, when, who to tell."""

    # Unknown fields are a client's typo more often than not: refuse them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float | None = Field(
        None, gt=0, description="End the job with `job_timeout` after this many seconds."
    )
    max_attempts: int = Field(3, ge=1, description="Attempts in all when failures are transient.")
    priority: int = Field(5, ge=1, le=9, description="1-3 low, 4-6 normal, 7-9 high.")
    delay_s: float | None = Field(None, ge=0, le=30 * 86_400, description="Start no sooner than this.")
    run_at: datetime | None = Field(None, description="Start at this time (ISO 8601; UTC if no offset).")
    webhook: WebhookSpec | None = None

    @model_validator(mode="after")
    def _one_start_time(self) -> _Request:
        if self.delay_s is not None and self.run_at is not None:
            raise ValueError("give delay_s or run_at, not both")
        return self

    def start_at(self, now: datetime) -> datetime | None:
        """When the job may start, if that is in the future."""
        if self.delay_s:
            return now + timedelta(seconds=self.delay_s)
        if self.run_at is not None:
            run_at = self.run_at if self.run_at.tzinfo else self.run_at.replace(tzinfo=UTC)
            return run_at if run_at > now else None
        return None


class ExtractSpec(BaseModel):
    """Structured data an LLM answers from the page, validated against `schema`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: dict[str, Any] = Field(alias="schema", description="The JSON Schema the answer must match.")
    prompt: str | None = Field(None, max_length=4_000, description="What to look for, in words.")


class _PagesRequest(_Request):
    """Options of every job kind that extracts pages."""

    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        max_length=len(Format),
        description="What to extract: markdown, metadata, product, links, html.",
    )
    extract: ExtractSpec | None = Field(None, description="Ask an LLM for data matching a JSON Schema.")


class ScrapeRequest(_PagesRequest):
    """Fetch one page and extract what it holds."""

    type: Literal["scrape"] = "scrape"
    # Length and form are judged by `validate_url`, which answers `invalid_url` for all of them.
    url: str = Field(min_length=1, description="http(s) URL of the page (at most 2048 characters).")
    max_age_s: float | None = Field(
        None, ge=0, description="Reuse a completed scrape of the same URL and options this young."
    )

    def cache_identity(self) -> dict[str, Any]:
        """What makes two scrapes give the same result (not how or when they run)."""
        extract = self.extract.model_dump(mode="json", by_alias=True) if self.extract else None
        return {"type": self.type, "url": self.url, "formats": sorted(self.formats), "extract": extract}


class CrawlRequest(_PagesRequest):
    """Breadth-first from `url`, within scope, up to `limit` pages and `max_depth` hops."""

    type: Literal["crawl"] = "crawl"
    url: str = Field(min_length=1, description="Where the crawl starts (always fetched).")
    limit: int = Field(100, ge=1, description="Most pages fetched (at most CRAWL_MAX_PAGES).")
    max_depth: int = Field(3, ge=0, le=100, description="Most link hops from the start page.")
    include_paths: list[str] = Field(default_factory=list, max_length=50, description="Regexes the path must match.")
    exclude_paths: list[str] = Field(default_factory=list, max_length=50, description="Regexes the path must not.")
    allow_subdomains: bool = Field(False, description="Also follow links to subdomains of the start host.")
    respect_robots: bool = Field(True, description="Obey robots.txt (Disallow, Crawl-delay).")
    sitemap: bool = Field(False, description="Seed the frontier from the site's sitemap.xml.")


class BatchRequest(_PagesRequest):
    """Fetch a list of pages concurrently (within per-host limits)."""

    type: Literal["batch"] = "batch"
    urls: list[str] = Field(min_length=1, description="The pages (at most BATCH_MAX_URLS).")


class AskRequest(_Request):
    """Answer questions from a finished crawl or batch (`job`), or from a site crawled first (`url`)."""

    type: Literal["ask"] = "ask"
    questions: list[str] = Field(min_length=1, max_length=20)
    job: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="A finished crawl or batch of yours.")
    url: str | None = Field(None, min_length=1, description="A site to crawl first.")
    limit: int = Field(20, ge=1, le=200, description="Pages crawled when `url` is given.")

    @model_validator(mode="after")
    def _one_source(self) -> AskRequest:
        if (self.job is None) == (self.url is None):
            raise ValueError("give either job (a finished crawl or batch) or url (a site to crawl), not both")
        for question in self.questions:
            if not question.strip() or len(question) > 1_000:
                raise ValueError("each question: 1 to 1,000 characters")
        return self


JobRequest = ScrapeRequest | CrawlRequest | BatchRequest | AskRequest
# `type` picks the model.
REQUEST_MODELS: dict[str, type[_Request]] = {
    "scrape": ScrapeRequest,
    "crawl": CrawlRequest,
    "batch": BatchRequest,
    "ask": AskRequest,
}


class ErrorInfo(BaseModel):
    code: str
    message: str
    model_config = ConfigDict(extra="allow")


class JobLinks(BaseModel):
    self: str
    events: str
    result: str


class JobRecord(BaseModel):
    """A job as `GET /jobs/{id}` answers it."""

    id: str
    type: str
    status: JobStatus
    phase: str | None = None
    percent: int = 0
    attempt: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: ErrorInfo | None = None
    links: JobLinks | None = None

    def public(self, links: JobLinks) -> dict[str, Any]:
        return self.model_copy(update={"links": links}).model_dump(mode="json")


class SubmitResponse(BaseModel):
    id: str
    type: str
    status: JobStatus
    links: JobLinks
