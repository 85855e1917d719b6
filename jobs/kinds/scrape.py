"""The `scrape` job: validate → fetch → parse → extract → (compare) → store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from jobs.changes.tracking import TRACKING_FORMATS, Watch, shown_document, track_page
from jobs.errors import LLMError
from jobs.extract import PageDocument
from jobs.fetch import PageFetcher, validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import Extractor, with_llm_answer
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.lifecycle.result_cache import cache_key, fresh_result
from jobs.models import Format, ScrapeRequest
from streams.events import EventType

if TYPE_CHECKING:
    from jobs.llm import LLMClient


async def scrape_page(
    run: JobRun, request: dict[str, Any], fetcher: PageFetcher, extractor: Extractor, policy: AddressPolicy,
    watch: Watch, llm: LLMClient | None = None,
) -> JobOutcome:
    """`watch`: whose earlier looks a tracked scrape (`track_changes`, or a schedule's run) compares with."""
    spec = ScrapeRequest.model_validate(request)
    tracked = spec.track_changes or watch.schedule is not None
    keys = run.env.queue.keys
    await run.progress("validate", 5, f"Checking {spec.url}", defer=True)
    url = validate_url(spec.url, policy)
    remember = [(cache_key(keys, watch.owner, spec), run.job_id.encode())]

    # A watch always looks again: a reused result would only ever be `same`.
    if spec.max_age_s is not None and not tracked:
        cached = await fresh_result(run.env.redis, keys, watch.owner, spec, spec.max_age_s)
        if cached is not None:
            result, source = cached
            await run.progress("store", 95, f"Reusing the result of job {source} (max_age_s {spec.max_age_s:g})",
                               defer=True)
            return JobOutcome(result, {"url": url, "cached": True, "source_job": source})

    await run.progress("fetch", 20, f"Reading {url}")
    page = await fetcher.fetch(url)

    await run.progress("parse", 60, f"Parsing {len(page.content)} bytes of {page.media_type}")
    formats = frozenset(f.value for f in spec.formats)
    # The client's formats are exactly what is extracted, so the links shown are the links asked for;
    # a tracked page also gets what the comparison reads, and shows only what was asked.
    done = await extractor.extract(page.content, page.url, page.status, page.media_type, page.charset,
                                   formats | TRACKING_FORMATS if tracked else formats, show_links=True)
    result = done.entry

    if spec.extract is not None:
        if llm is None:
            raise LLMError("this worker has no LLM configured (OPENAI_MODEL, OPENAI_BASE_URL)")
        await run.progress("llm", 75, "Asking the model for the extract schema")
        document = await with_llm_answer(PageDocument.model_validate_json(result), spec.extract, llm)
        result = document.model_dump_json(exclude_none=False).encode()
    summary = {
        "url": done.url,
        "status": done.status,
        "title": done.title,
        "product": done.product_name,
        "bytes": len(page.content),
    }
    look = None
    if tracked:
        # The look is recorded (and `changed` published) with `completed`, in its script, or not at all.
        document = orjson.loads(result)
        look = await track_page(run.env.redis, keys, watch, run.job_id, url, document)
        result = shown_document(document, formats, look.change)
        run.with_next_publish(*look.commands)
        summary["change"] = look.change.status
    # These ride with `completed`: one round trip for the last events.
    await run.progress("extract", 85, "Extracted " + ", ".join(sorted(formats)), defer=True)
    await run.progress("store", 95, f"Storing {len(result)} bytes", defer=True)
    if look is not None and look.changed_event is not None:
        await run.publish(EventType.CHANGED, look.changed_event, defer=True)
    if Format.LINKS.value in formats:
        summary["links"] = len(done.links)
    return JobOutcome(result, summary, also_store=remember)
