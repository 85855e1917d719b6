"""The options of each job kind, as keyword arguments of the SDK's `scrape`, `crawl`, `batch` and `ask`.

Declared once for `Client` and `SyncClient` (`**options: Unpack[CrawlOptions]`),
so an editor lists every option of the request model it mirrors
(`jobs.models.CrawlRequest` ...). An option left out, or None, is the server's default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from jobs.models import ExtractSpec, Format, WebhookSpec


class JobOptions(TypedDict, total=False):
    """What every job takes: its time bound, attempts, priority, start time and webhook."""

    timeout_s: float | None
    max_attempts: int | None
    priority: int | None
    delay_s: float | None
    run_at: datetime | str | None
    webhook: WebhookSpec | Mapping[str, Any] | None


class PageOptions(JobOptions, total=False):
    """What a job that fetches pages takes besides: the formats of each document, an LLM extraction."""

    formats: Sequence[Format | str] | None
    extract: ExtractSpec | Mapping[str, Any] | None


class ScrapeOptions(PageOptions, total=False):
    max_age_s: float | None
    track_changes: bool | None


class CrawlOptions(PageOptions, total=False):
    limit: int | None
    max_depth: int | None
    include_paths: Sequence[str] | None
    exclude_paths: Sequence[str] | None
    allow_subdomains: bool | None
    respect_robots: bool | None
    sitemap: bool | None
    track_changes: bool | None


BatchOptions = PageOptions


class AskOptions(JobOptions, total=False):
    limit: int | None
