"""The `batch` job: a list of pages fetched concurrently within per-host limits.

The result has one entry per URL, in the order of the URLs: each slot is
reserved at the start and filled when its page is done. A failing URL fills
its slot with an error and does not fail the batch.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from jobs.crawl import HostPoliteness
from jobs.errors import JobError
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.crawl import CrawlLimits
from jobs.kinds.page_work import PageOutcome, PageWork, process_page
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.models import BatchRequest
from jobs.store.pages import error_entry, reserve_commands, set_command
from streams.events import EventType
from streams.publish import PendingEvent


async def run_batch(
    run: JobRun, request: dict[str, Any], work: PageWork, policy: AddressPolicy, limits: CrawlLimits
) -> JobOutcome:
    spec = BatchRequest.model_validate(request)
    env = run.env
    run.with_next_publish(*reserve_commands(env.queue.keys, run.job_id, spec.urls, env.queue.limits.ttl_s))
    await run.progress("fetch", 1, f"Fetching {len(spec.urls)} pages")
    politeness = HostPoliteness(per_host=limits.per_host, delay_s=limits.delay_s)
    gate = asyncio.Semaphore(limits.concurrency)
    in_order = asyncio.Lock()  # numbered and published one at a time: percents never go back
    done = failed = 0

    async def one(index: int, url: str) -> None:
        nonlocal done, failed
        async with gate:
            try:
                checked = validate_url(url, policy)
            except JobError as exc:
                outcome = PageOutcome(url, error_entry(url, exc.code, exc.message), None, None, error_code=exc.code)
            else:
                async with politeness.slot(checked):
                    outcome = await process_page(checked, work)
        async with in_order:
            await publish(index, url, outcome)

    async def publish(index: int, url: str, outcome: PageOutcome) -> None:
        nonlocal done, failed
        done += 1
        failed += outcome.error_code is not None
        data: dict[str, Any] = {"url": url, "status": outcome.status, "title": outcome.title, "index": index}
        if outcome.error_code:
            data["error"] = outcome.error_code
        events = [run.page_event(data, {"pages": done})]
        percent = run.set_percent(min(99, 100 * done // len(spec.urls)))
        if percent is not None:
            events.append(PendingEvent.make(
                EventType.PROGRESS, {"phase": "fetch", "percent": percent, "message": f"{done} of {len(spec.urls)}"},
                {"phase": "fetch", "percent": percent}))
        await run.publish_events(*events, then=[set_command(env.queue.keys, run.job_id, index, outcome.entry)])

    await asyncio.gather(*(one(index, url) for index, url in enumerate(spec.urls)))
    await run.progress("store", 100, f"Fetched {done} pages, {failed} failed", defer=True)
    summary = {"pages": done, "failed": failed}
    return JobOutcome(orjson.dumps(summary), summary)
