"""The shapes clients see: job requests (with their webhook), job records and their states.

Pure pydantic: the async SDK imports this module, so it imports nothing of the
server (no arq, Starlette, fetcher or webhook delivery). What needs the server
— the addresses a URL resolves to — is judged where a submit is validated
(`service.validation`) and again by the guard when connecting.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    field_serializer,
    field_validator,
    model_validator,
)

MAX_URL_LENGTH = 2048
# How far ahead a job may be scheduled, by delay_s or run_at.
MAX_DELAY_S: Final = 30 * 86_400


def json_integer(value: Any) -> Any:
    """JSON Schema's integer: 3 and 3.0, never true or "3" (which pydantic's lax mode would take)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a whole number")
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Numbers as JSON has them: strict, so `false` or "5" is refused rather than read as 0 or 5.
JsonInteger = Annotated[int, BeforeValidator(json_integer)]
JsonNumber = Annotated[float, Strict()]
_ISO_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})?)?"
)


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


# ---- the webhook a client asks for ----

WebhookEvent = Literal["queued", "started", "progress", "page", "retrying", "changed", "completed", "failed",
                       "cancelled"]
WEBHOOK_EVENTS: Final[frozenset[str]] = frozenset(get_args(WebhookEvent))
# `changed` only ever happens to a job that tracks changes, which is what its webhook is for.
DEFAULT_WEBHOOK_EVENTS: Final[tuple[WebhookEvent, ...]] = ("changed", "completed", "failed", "cancelled")

WEBHOOK_SECRET_PREFIX: Final = "whsec_"
# Standard Webhooks: "at least 24 bytes (192 bits, 512 maximum)".
MIN_WEBHOOK_SECRET_BYTES: Final = 24
MAX_WEBHOOK_SECRET_BYTES: Final = 64

_HTTP_SCHEMES = frozenset({"http", "https"})
_FORBIDDEN_URL_CHARS = re.compile(r"[\x00-\x20\x7f]")


def webhook_signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError, naming what is wrong, otherwise.

    Here rather than with the signing, because what a valid secret is belongs to
    the request: WebhookSpec refuses a bad one at submit time.
    """
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError(f"the secret must start with {WEBHOOK_SECRET_PREFIX!r}")
    encoded = secret[len(WEBHOOK_SECRET_PREFIX) :]
    try:
        # Unpadded base64 is common in the wild; any other stray character is an error.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the part after {WEBHOOK_SECRET_PREFIX!r} must be standard base64") from None
    if not MIN_WEBHOOK_SECRET_BYTES <= len(key) <= MAX_WEBHOOK_SECRET_BYTES:
        raise ValueError(
            f"the secret must hold {MIN_WEBHOOK_SECRET_BYTES} to {MAX_WEBHOOK_SECRET_BYTES} bytes, not {len(key)}"
        )
    return key


class WebhookSpec(BaseModel):
    """Where to POST a job's events, the secret to sign them with, and which events."""

    # The secret must not come back in a validation error (which may be logged).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str = Field(
        min_length=1, max_length=MAX_URL_LENGTH,
        description="http(s) URL that receives a POST per event; reachable under the same address rules as pages.",
    )
    secret: str = Field(
        repr=False,
        description="Standard Webhooks signing secret: `whsec_` and the base64 of 24 to 64 random bytes.",
    )
    events: tuple[WebhookEvent, ...] = Field(
        default=DEFAULT_WEBHOOK_EVENTS, min_length=1, max_length=4 * len(WEBHOOK_EVENTS),
        description="Which events to deliver, each as a `job.<event>` POST; by default `changed` and the terminal "
                    "ones.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # The form only: the submit route judges the address with `validate_url`,
        # and the delivery guard every address it connects to.
        if _FORBIDDEN_URL_CHARS.search(value):
            raise ValueError("the URL must not contain spaces or control characters")
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if parts.scheme.lower() not in _HTTP_SCHEMES:
            raise ValueError("the URL must be http:// or https://")
        if not parts.hostname:
            raise ValueError("the URL has no host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("URLs with credentials (user@host) are not allowed")
        if port == 0:
            raise ValueError("the URL has no usable port")
        return value

    @field_validator("secret")
    @classmethod
    def _signing_secret(cls, value: str) -> str:
        webhook_signing_key(value)
        return value

    @field_validator("events")
    @classmethod
    def _dedupe(cls, value: tuple[WebhookEvent, ...]) -> tuple[WebhookEvent, ...]:
        return tuple(dict.fromkeys(value))

    def wants(self, event_type: str) -> bool:
        """Whether an event of this type (`completed`, not `job.completed`) is delivered."""
        return event_type in self.events


class BaseJobRequest(BaseModel):
    """Options every job kind takes: how long, how often, how urgent, when, who to tell."""

    # Unknown fields are a client's typo more often than not: refuse them by name.
    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: JsonNumber | None = Field(
        None, gt=0, description="End the job with `job_timeout` after this many seconds."
    )
    max_attempts: JsonInteger = Field(3, ge=1, description="Attempts in all when failures are transient.")
    priority: JsonInteger = Field(5, ge=1, le=9, description="1-3 low, 4-6 normal, 7-9 high.")
    delay_s: JsonNumber | None = Field(None, ge=0, le=MAX_DELAY_S, description="Start no sooner than this.")
    run_at: datetime | None = Field(
        None, description="Start at this time (ISO 8601; UTC if no offset), at most 30 days ahead."
    )
    webhook: WebhookSpec | None = None

    @field_validator("run_at", mode="before")
    @classmethod
    def _run_at_is_a_date_time(cls, value: Any) -> Any:
        # pydantic would also read 0 or "0" as a Unix time; the contract is an ISO 8601 string.
        if isinstance(value, str) and not _ISO_DATE_TIME.fullmatch(value):
            raise ValueError("an ISO 8601 date and time, e.g. 2030-01-01T09:00:00Z")
        if not isinstance(value, str | datetime | None):
            raise ValueError("an ISO 8601 date and time as a string, e.g. 2030-01-01T09:00:00Z")
        return value

    @field_validator("run_at")
    @classmethod
    def _run_at_within_reach(cls, value: datetime | None) -> datetime | None:
        # The same horizon as delay_s: the record's TTL is the retention plus the wait.
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        try:
            too_far = aware - datetime.now(UTC) > timedelta(seconds=MAX_DELAY_S)
        except OverflowError:  # year 9999 with a negative offset is past datetime.max in UTC
            too_far = True
        if too_far:
            raise ValueError(f"at most {MAX_DELAY_S // 86_400} days ahead (like delay_s)")
        return value

    @model_validator(mode="after")
    def _one_start_time(self) -> BaseJobRequest:
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


class PagesRequest(BaseJobRequest):
    """Options of every job kind that extracts pages."""

    formats: list[Format] = Field(
        default_factory=lambda: list(DEFAULT_FORMATS),
        max_length=len(Format),
        description="What to extract: markdown, metadata, product, links, html.",
    )
    extract: ExtractSpec | None = Field(None, description="Ask an LLM for data matching a JSON Schema.")


TRACK_CHANGES: Final = ("Compare each page with the last tracked look at the same URL by this key (or this "
                        "schedule): the result gets `change` (new, same or changed, the Markdown diff, the fields "
                        "that differ), and a changed page publishes `changed`.")


class ScrapeRequest(PagesRequest):
    """Fetch one page and extract what it holds."""

    type: Literal["scrape"] = "scrape"
    # Length and form are judged by `validate_url`, which answers `invalid_url` for all of them.
    url: str = Field(min_length=1, description="http(s) URL of the page (at most 2048 characters).")
    max_age_s: JsonNumber | None = Field(
        None, ge=0, description="Reuse a completed scrape of the same URL and options this young "
                                "(not with `track_changes`, which always fetches)."
    )
    track_changes: StrictBool = Field(False, description=TRACK_CHANGES)

    def cache_identity(self) -> dict[str, Any]:
        """What makes two scrapes give the same result (not how or when they run)."""
        extract = self.extract.model_dump(mode="json", by_alias=True) if self.extract else None
        identity = {"type": self.type, "url": self.url, "formats": sorted(self.formats), "extract": extract}
        # A tracked result carries its `change`: an untracked scrape must not reuse it (nor the reverse).
        return {**identity, "track_changes": True} if self.track_changes else identity


class CrawlRequest(PagesRequest):
    """Breadth-first from `url`, within scope, up to `limit` pages and `max_depth` hops."""

    type: Literal["crawl"] = "crawl"
    url: str = Field(min_length=1, description="Where the crawl starts (always fetched).")
    limit: JsonInteger = Field(100, ge=1, description="Most pages fetched (at most CRAWL_MAX_PAGES).")
    max_depth: JsonInteger = Field(3, ge=0, le=100, description="Most link hops from the start page.")
    include_paths: list[str] = Field(default_factory=list, max_length=50, description="Regexes the path must match.")
    exclude_paths: list[str] = Field(default_factory=list, max_length=50, description="Regexes the path must not.")
    allow_subdomains: StrictBool = Field(False, description="Also follow links to subdomains of the start host.")
    respect_robots: StrictBool = Field(True, description="Obey robots.txt (Disallow, Crawl-delay).")
    sitemap: StrictBool = Field(False, description="Seed the frontier from the site's sitemap.xml.")
    track_changes: StrictBool = Field(False, description=TRACK_CHANGES + " The result counts pages new, changed, "
                                                                         "same and gone.")


class BatchRequest(PagesRequest):
    """Fetch a list of pages concurrently (within per-host limits)."""

    type: Literal["batch"] = "batch"
    urls: list[str] = Field(min_length=1, description="The pages (at most BATCH_MAX_URLS).")


class AskRequest(BaseJobRequest):
    """Answer questions from a finished crawl or batch (`job`), or from a site crawled first (`url`)."""

    type: Literal["ask"] = "ask"
    questions: list[str] = Field(min_length=1, max_length=20)
    job: str | None = Field(None, pattern=r"^[0-9a-f]{32}$", description="A finished crawl or batch of yours.")
    url: str | None = Field(None, min_length=1, description="A site to crawl first.")
    limit: JsonInteger = Field(20, ge=1, le=200, description="Pages crawled when `url` is given.")

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
REQUEST_MODELS: dict[str, type[BaseJobRequest]] = {
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


# A batch's record names this many of its URLs (and how many there are).
ASKED_URLS = 3
# Request fields that are what was asked, not options; shown on their own.
_ASKED_FIELDS = frozenset({"type", "url", "urls", "job", "questions"})
# Fields that hold a credential, wherever a request may carry one: never in a record.
SECRET_FIELDS = frozenset({"secret", "headers", "api_key", "authorization", "cookies", "password", "token"})


def _without_secrets(options: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in options.items() if name.lower() not in SECRET_FIELDS}


def without_secrets(request: dict[str, Any]) -> dict[str, Any]:
    """A request as it may be shown: every credential left out (a webhook keeps its URL and events)."""
    shown = _without_secrets(request)
    if isinstance(shown.get("webhook"), dict):
        shown["webhook"] = _without_secrets(shown["webhook"])
    return shown


def asked_of(request: dict[str, Any]) -> dict[str, Any]:
    """What a job was asked (its URL(s), its source job and questions) and its options, without a secret.

    The record shows it (`GET /jobs`, the dashboard, the CLI): a webhook's URL stays, its secret does not.
    """
    urls = request.get("urls")
    options = without_secrets({k: v for k, v in request.items() if k not in _ASKED_FIELDS and v is not None})
    return {
        "url": request.get("url"),
        "urls_count": len(urls) if isinstance(urls, list) else None,
        "urls": urls[:ASKED_URLS] if isinstance(urls, list) else None,
        "job": request.get("job"),
        "questions": request.get("questions"),
        "options": options,
    }


def millisecond_utc(value: datetime | None) -> str | None:
    """A time as the API writes it: UTC, always to the millisecond, `Z`.

    Always the same width (pydantic drops a zero fraction): clients compare and
    sort these as strings, and "…21Z" would sort after "…21.004Z".
    """
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JobRecord(BaseModel):
    """A job as `GET /jobs/{id}` answers it: its state, and what was asked (`asked_of`)."""

    id: str
    type: str
    status: JobStatus
    url: str | None = Field(None, description="The page, the crawl's start, or the site an ask crawls.")
    urls_count: int | None = Field(None, description="A batch: how many URLs.")
    urls: list[str] | None = Field(None, description=f"A batch: its first {ASKED_URLS} URLs.")
    job: str | None = Field(None, description="An ask: the crawl or batch it reads.")
    questions: list[str] | None = Field(None, description="An ask: its questions.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="The rest of the request, without any secret (a webhook keeps its URL)."
    )
    phase: str | None = None
    percent: int = 0
    attempt: int = 0
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: ErrorInfo | None = None
    schedule: str | None = Field(None, description="The schedule this job is a run of (`GET /schedules/{id}`).")
    scheduled_for: datetime | None = Field(None, description="A run of a schedule: the tick it runs for.")
    links: JobLinks | None = None

    @field_serializer("created_at", "started_at", "finished_at", "scheduled_for")
    def _millisecond_utc(self, value: datetime | None) -> str | None:
        return millisecond_utc(value)

    def public(self, links: JobLinks) -> dict[str, Any]:
        return self.model_copy(update={"links": links}).model_dump(mode="json")


class SubmitResponse(BaseModel):
    id: str
    type: str
    status: JobStatus
    links: JobLinks


# ---- the result documents, as the SDK reads them ----


class ResultDocument(BaseModel):
    """Base of the result shapes: fields a newer server adds are kept (as attributes), never refused."""

    model_config = ConfigDict(extra="allow")


class ProductFields(BaseModel):
    """The fields of a normalized product, declared once: extraction's `Product` builds them
    (refusing unknown keys), the SDK's `ProductResult` reads them (keeping a newer server's)."""

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


class ProductResult(ResultDocument, ProductFields):
    """The product normalized from a page's JSON-LD, microdata, RDFa or OpenGraph."""


class PageError(ResultDocument):
    """Why one page of a crawl or batch has no document (the job goes on without it)."""

    code: str
    message: str = ""


class PageFields(BaseModel):
    """The fields of one page's document, declared once: extraction's `PageDocument` builds
    them, the SDK's `PageResult` reads them. Each narrows `status` or `product` in place,
    so the fields keep this order in every stored and served document."""

    url: str
    status: int | None = None
    title: str | None = None
    description: str | None = None
    language: str | None = None
    canonical: str | None = None
    links: list[str] = Field(default_factory=list)
    markdown: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    product: ProductFields | None = None
    html: str | None = None
    # True when the job reused an earlier scrape (`max_age_s`) instead of fetching.
    cached: bool = False
    # The LLM's answer to the job's `extract` schema, validated against it, and its token usage.
    extract: Any = None
    usage: dict[str, int] | None = None


class PageChange(ResultDocument):
    """How a tracked page differs from the last look at the same URL (`track_changes`, schedules)."""

    status: Literal["new", "same", "changed"]
    previous_job: str | None = None
    diff: str | None = Field(None, description="Unified diff of the normalized Markdown (changed only), bounded.")
    fields: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Each tracked field that differs (`product.price`): `before`, `after`.")


class PageResult(ResultDocument, PageFields):
    """One page: a scrape's result, or an entry of a crawl's or batch's pages (then maybe with `error`)."""

    product: ProductResult | None = None
    error: PageError | None = None
    change: PageChange | None = None

    def as_json(self) -> dict[str, Any]:
        """The document as the server sent it (no defaults filled in), e.g. for a JSON line."""
        return self.model_dump(mode="json", exclude_unset=True)


class ChangeEntry(PageChange):
    """One page of a schedule's run that was new or changed, as `GET /schedules/{id}/changes` lists it."""

    id: str = Field(description="The entry's id in the schedule's history: a `cursor` for the page after it.")
    at: datetime
    job: str
    url: str

    @field_serializer("at")
    def _millisecond_utc(self, value: datetime) -> str | None:
        return millisecond_utc(value)


class Answer(ResultDocument):
    question: str
    answer: str | None = None
    sources: list[str] = Field(default_factory=list)


class AskResult(ResultDocument):
    """An ask job's result: one answer per question, from `pages` pages."""

    answers: list[Answer]
    pages: int = 0
    usage: dict[str, int] | None = None
