"""The shapes clients see: job requests, job records and their states.

Pure pydantic: the async SDK imports this module, so it must not import arq,
Starlette or anything that runs jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .webhooks import WebhookSpec

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


class ScrapeRequest(_Request):
    """Fetch one page and extract what it holds."""

    type: Literal["scrape"] = "scrape"
    # Length and form are judged by `validate_url`, which answers `invalid_url` for all of them.
    url: str = Field(min_length=1, description="http(s) URL of the page (at most 2048 characters).")
    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        max_length=len(Format),
        description="What to extract: markdown, metadata, product, links, html.",
    )
    max_age_s: float | None = Field(
        None, ge=0, description="Reuse a completed scrape of the same URL and options this young."
    )

    def cache_identity(self) -> dict[str, Any]:
        """What makes two scrapes give the same result (not how or when they run)."""
        return {"type": self.type, "url": self.url, "formats": sorted(self.formats)}


# `type` picks the model; crawl, batch and ask slot in here.
REQUEST_MODELS: dict[str, type[_Request]] = {"scrape": ScrapeRequest}
JobRequest = ScrapeRequest


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
