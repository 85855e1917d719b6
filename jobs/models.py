"""The shapes clients see: job requests, job records and their states.

Pure pydantic: the async SDK imports this module, so it must not import arq,
Starlette or anything that runs jobs.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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
    # Unknown fields are a client's typo more often than not: refuse them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float | None = Field(
        None, gt=0, description="End the job with `job_timeout` after this many seconds."
    )


class ScrapeRequest(_Request):
    """Fetch one page and extract what it holds."""

    type: Literal["scrape"] = "scrape"
    url: str = Field(min_length=1, max_length=MAX_URL_LENGTH, description="http(s) URL of the page.")
    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        max_length=len(Format),
        description="What to extract: markdown, metadata, product, links, html.",
    )


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
