"""One page of a crawl or batch: fetch, extract, maybe ask the LLM; never raises for a page.

Every job kind, scrape included, extracts through the worker's one `Extractor`.
Extraction is CPU work. With EXTRACT_PROCESSES > 0 it runs in that many worker
processes, so one worker uses more than one core: the event loop keeps
fetching and publishing while other cores parse. What crosses the process
boundary is small and plain: the page bytes in; the result entry (JSON, ready
to store), the links, the Markdown and the product's name out.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from jobs.errors import ExtractionError, JobError
from jobs.extract import PageDocument, extract_page
from jobs.fetch import PageFetcher
from jobs.models import ExtractSpec
from jobs.store.pages import error_entry

if TYPE_CHECKING:
    from jobs.llm import LLMClient

logger = logging.getLogger("scrapestream.jobs")

T = TypeVar("T")

# Pages bigger than this are extracted off the event loop (in a thread) even without
# a process pool, so one huge page cannot stall the other jobs' events on a worker.
INLINE_EXTRACT_BYTES = 256 * 1024


@dataclass(frozen=True, slots=True)
class Extracted:
    entry: bytes  # the page's result entry, JSON
    url: str  # final URL, after redirects
    status: int
    title: str | None
    links: list[str]
    markdown: str | None
    product_name: str | None


def extract_entry(
    content: bytes, url: str, status: int, media_type: str, charset: str | None, formats: frozenset[str],
    show_links: bool,
) -> Extracted:
    """Extract and serialize in one go (runs in a pool process, or inline)."""
    document = extract_page(content, url=url, status=status, media_type=media_type, charset=charset, formats=formats)
    shown = document if show_links else document.model_copy(update={"links": []})
    return Extracted(orjson.dumps(shown.model_dump(mode="json")), document.url, document.status, document.title,
                     document.links, document.markdown, document.product.name if document.product else None)


async def off_loop(extract: Callable[..., T], content: bytes, *args: Any) -> T:
    """Run an extraction inline, or in a thread for a big page; any failure is ExtractionError."""
    try:
        if len(content) <= INLINE_EXTRACT_BYTES:
            return extract(content, *args)
        return await asyncio.to_thread(extract, content, *args)
    except JobError:
        raise
    except Exception as exc:  # a page must never take the worker down
        raise ExtractionError(f"could not extract the page: {type(exc).__name__}: {exc}") from exc


class Extractor:
    """Runs `extract_entry` inline (in a thread for big pages) or in a pool of processes."""

    def __init__(self, processes: int = 0) -> None:
        # forkserver: the pool's processes do not inherit the worker's event loop or sockets.
        self._pool = (ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("forkserver"))
                      if processes > 0 else None)

    async def extract(self, content: bytes, url: str, status: int, media_type: str, charset: str | None,
                      formats: frozenset[str], show_links: bool) -> Extracted:
        args = (url, status, media_type, charset, formats, show_links)
        if self._pool is None:
            return await off_loop(extract_entry, content, *args)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, extract_entry, content, *args)
        except Exception as exc:  # a page must never take the worker down
            raise ExtractionError(f"could not extract the page: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


@dataclass(frozen=True, slots=True)
class PageOutcome:
    url: str  # as asked for
    entry: bytes  # the result entry: a page document, or {"url", "error"}
    status: int | None
    title: str | None
    final_url: str | None = None
    links: tuple[str, ...] = ()
    markdown: str | None = None
    error_code: str | None = None


@dataclass(frozen=True, slots=True)
class PageWork:
    fetcher: PageFetcher
    formats: frozenset[str]
    extract: ExtractSpec | None
    llm: LLMClient | None
    extractor: Extractor


async def with_llm_answer(document: PageDocument, spec: ExtractSpec, llm: LLMClient) -> PageDocument:
    """The document with `extract` and `usage` filled in; raises LLMError."""
    text = document.markdown or document.description or document.title or ""
    data, usage = await llm.extract(text, spec.schema_, spec.prompt, url=document.url)
    return document.model_copy(update={"extract": data, "usage": usage.to_dict()})


async def process_page(url: str, work: PageWork, *, need_links: bool = False) -> PageOutcome:
    """`need_links`: extract links even when the client did not ask for them (a crawl follows them)."""
    show_links = "links" in work.formats
    formats = work.formats | {"links"} if need_links else work.formats
    try:
        page = await work.fetcher.fetch(url)
        done = await work.extractor.extract(page.content, page.url, page.status, page.media_type, page.charset,
                                            formats, show_links)
        entry = done.entry
        if work.extract is not None and work.llm is not None:
            document = await with_llm_answer(PageDocument.model_validate_json(entry), work.extract, work.llm)
            entry = orjson.dumps(document.model_dump(mode="json"))
    except JobError as exc:
        status: Any = getattr(exc, "status", None)
        return PageOutcome(url, error_entry(url, exc.code, exc.message, status=status), status, None,
                           error_code=exc.code)
    except Exception as exc:  # a page must never end a crawl
        logger.exception("page %s failed unexpectedly", url)
        return PageOutcome(url, error_entry(url, "internal_error", f"unexpected {type(exc).__name__}"), None, None,
                           error_code="internal_error")
    return PageOutcome(url, entry, done.status, done.title, done.url, tuple(done.links), done.markdown)
