"""What a submit is checked against beyond its shape: URLs, server maxima, references.

Everything that can be decided at submit time is, so the client gets a 422
naming the field at fault instead of a job that fails later.
"""

from __future__ import annotations

import re

from redis.asyncio import Redis

from jobs.errors import JobError
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.models import AskRequest, BatchRequest, CrawlRequest, JobRequest, PagesRequest, ScrapeRequest
from jobs.settings import Settings
from jobs.store.records import load_job
from streams.keys import Keyspace

from .errors import InvalidBody, job_not_found


def _url(url: str, policy: AddressPolicy, field: str) -> None:
    try:
        validate_url(url, policy)
    except JobError as exc:
        raise InvalidBody(f"{field}: {exc.message}", code=exc.code, field=field) from exc


# The scope's own message names a pattern as `include_paths[0] is …`; a 422's field is `include_paths.0`.
_PATTERN_AT = re.compile(r"(include_paths|exclude_paths)(?:\[(\d+)\])?(?: is| has| must be)?\s*")


def _pattern_at_fault(message: str) -> tuple[str, str]:
    """The field (with the index of the pattern at fault) and the message that names it once."""
    found = _PATTERN_AT.match(message)
    if found is None:
        return "include_paths", message
    field = found[1] + (f".{found[2]}" if found[2] else "")
    return field, f"{field}: {message[found.end():]}"


def _bound(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise InvalidBody(f"{field}: {message}", field=field)


async def check_request(
    request: JobRequest, *, settings: Settings, policy: AddressPolicy, redis: Redis, keys: Keyspace, owner: str,
    llm_configured: bool,
) -> None:
    _bound(request.max_attempts <= settings.max_attempts, "max_attempts", f"at most {settings.max_attempts} here")
    _bound(request.timeout_s is None or request.timeout_s <= settings.max_job_timeout_s, "timeout_s",
           f"at most {settings.max_job_timeout_s:g} here")
    if request.webhook is not None:
        _url(request.webhook.url, policy, "webhook.url")
    if isinstance(request, PagesRequest) and request.extract is not None:
        _bound(llm_configured, "extract", "this server has no LLM configured (OPENAI_MODEL, OPENAI_BASE_URL)")
        from jobs.llm import check_schema  # the openai client loads only when extraction is asked for

        try:
            check_schema(request.extract.schema_)
        except ValueError as exc:
            raise InvalidBody(f"extract.schema: {exc}", field="extract.schema") from exc
    if isinstance(request, ScrapeRequest | CrawlRequest):
        _url(request.url, policy, "url")
    if isinstance(request, CrawlRequest):
        _bound(request.limit <= settings.crawl_max_pages, "limit", f"at most {settings.crawl_max_pages} pages here")
        from jobs.crawl import ScopeRules

        try:
            ScopeRules(request.url, allow_subdomains=request.allow_subdomains,
                       include_paths=request.include_paths, exclude_paths=request.exclude_paths)
        except ValueError as exc:
            field, message = _pattern_at_fault(str(exc))
            raise InvalidBody(message, field=field) from exc
    if isinstance(request, BatchRequest):
        _bound(len(request.urls) <= settings.batch_max_urls, "urls", f"at most {settings.batch_max_urls} here")
        for index, url in enumerate(request.urls):
            _url(url, policy, f"urls.{index}")
    if isinstance(request, AskRequest):
        if request.url is not None:
            _url(request.url, policy, "url")
        else:
            source = await load_job(redis, keys, request.job or "")
            if source is None or source.owner != owner:
                # The same 404 as `GET /jobs/{id}` for a job that never was, expired or is not yours.
                raise job_not_found(request.job or "")
            _bound(source.type in ("crawl", "batch"), "job", "asks can read a crawl or a batch, not this job")
