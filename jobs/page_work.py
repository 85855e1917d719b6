"""One page of a crawl or batch: fetch, extract, maybe ask the LLM; never raises for a page."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from .errors import JobError
from .extract import PageDocument
from .fetch import FetchedPage, PageFetcher
from .models import ExtractSpec
from .pages import error_entry
from .scrape import extract_off_loop

if TYPE_CHECKING:
    from .llm import LLMClient

logger = logging.getLogger("scrapestream.jobs")


@dataclass(frozen=True, slots=True)
class PageOutcome:
    url: str
    entry: bytes  # the result entry: a page document, or {"url", "error"}
    status: int | None
    title: str | None
    document: PageDocument | None  # for the links a crawl follows
    error_code: str | None


@dataclass(frozen=True, slots=True)
class PageWork:
    fetcher: PageFetcher
    formats: frozenset[str]
    extract: ExtractSpec | None
    llm: LLMClient | None


async def document_of(page: FetchedPage, formats: frozenset[str]) -> PageDocument:
    return await extract_off_loop(page.content, url=page.url, status=page.status, media_type=page.media_type,
                                  charset=page.charset, formats=formats)


async def with_llm_answer(document: PageDocument, spec: ExtractSpec, llm: LLMClient) -> PageDocument:
    """The document with `extract` and `usage` filled in; raises LLMError."""
    text = document.markdown or document.description or document.title or ""
    data, usage = await llm.extract(text, spec.schema_, spec.prompt, url=document.url)
    return document.model_copy(update={"extract": data, "usage": usage.to_dict()})


async def process_page(url: str, work: PageWork, *, need_links: bool = False) -> PageOutcome:
    """`need_links`: extract links even when the client did not ask for them (a crawl follows them)."""
    formats = work.formats | {"links"} if need_links else work.formats
    try:
        page = await work.fetcher.fetch(url)
        document = await document_of(page, formats)
        if work.extract is not None and work.llm is not None:
            document = await with_llm_answer(document, work.extract, work.llm)
    except JobError as exc:
        extra: dict[str, Any] = {"status": getattr(exc, "status", None)}
        return PageOutcome(url, error_entry(url, exc.code, exc.message, **extra), extra["status"], None, None,
                           exc.code)
    except Exception as exc:  # a page must never end a crawl
        logger.exception("page %s failed unexpectedly", url)
        return PageOutcome(url, error_entry(url, "internal_error", f"unexpected {type(exc).__name__}"), None,
                           None, None, "internal_error")
    shown = document if "links" in work.formats else document.model_copy(update={"links": []})
    return PageOutcome(url, orjson.dumps(shown.model_dump(mode="json")), document.status, document.title,
                       document, None)
