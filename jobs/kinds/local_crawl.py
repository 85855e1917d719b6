"""A crawl inside one worker process, for `ask` and tracked crawls: in-memory frontier, politeness and robots.txt.

`ask` crawls a few pages (20 by default) to answer from, and keeps their
Markdown in memory while it ranks passages, so its crawl stays in the one
process that ranks them: a `crawl` job spreads over every worker instead
(`jobs.kinds.crawl`), unless it tracks changes (`run_tracked_crawl`: each
page's comparison is written with the page's publish, in this worker).
Coroutines (CRAWL_CONCURRENCY of them) take URLs from the frontier; each page
is fetched within its host's politeness slot (HOST_CONCURRENCY, the politeness
delay, robots.txt's Crawl-delay), extracted, handed to a sink, and its in-scope links go back to the frontier.
Only URLs wait in memory, never pages.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from jobs.changes.crawls import TrackedCrawlPage, crawl_changes, forget_looks, track_crawl_page
from jobs.changes.tracking import TRACKING_FORMATS, Watch
from jobs.crawl import Frontier, HostPoliteness, RobotsCache, ScopeRules, sitemap_urls
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import PageOutcome, PageWork, process_page
from jobs.kinds.spread import CrawlLimits
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.models import CrawlRequest
from jobs.store.pages import error_entry, push_commands, reset_command
from streams.events import EventType
from streams.publish import PendingEvent


@dataclass(slots=True)
class CrawlTally:
    pages: int = 0
    failed: int = 0
    skipped_by_robots: int = 0
    errors: dict[str, int] = field(default_factory=dict)


MAX_CONSIDERED = 500_000

PageSink = Callable[[PageOutcome, int, CrawlTally], Awaitable[None]]
"""Gets each finished page with its depth."""


async def crawl_site(
    run: JobRun,
    spec: CrawlRequest,
    work: PageWork,
    policy: AddressPolicy,
    limits: CrawlLimits,
    sink: PageSink,
) -> CrawlTally:
    start = validate_url(spec.url, policy)
    scope = ScopeRules(start, allow_subdomains=spec.allow_subdomains, include_paths=spec.include_paths,
                       exclude_paths=spec.exclude_paths)
    frontier = Frontier(limit=spec.limit, max_depth=spec.max_depth)
    frontier.add(start, 0)
    robots = RobotsCache(work.fetcher.fetch) if spec.respect_robots else None
    politeness = HostPoliteness(per_host=limits.per_host, delay_s=limits.delay_s)
    tally = CrawlTally()
    # Links already looked at, as found: most pages repeat the same navigation,
    # and judging a link (normalize, scope) costs more than this lookup.
    considered: set[str] = set()
    if spec.sitemap:
        listed = await robots.sitemaps(start) if robots else []
        for url in await sitemap_urls(work.fetcher.fetch, start, listed, max_urls=spec.limit * 4):
            if scope.allows(url):
                frontier.add(url, min(1, spec.max_depth))
    await run.progress("fetch", 1, f"Crawling {start}: up to {spec.limit} pages, {spec.max_depth} links deep")

    async def crawl_one(url: str, depth: int) -> None:
        if robots is not None and not await robots.allowed(url, limits.user_agent):
            tally.skipped_by_robots += 1
            frontier.done(counted=False)  # its place in the limit goes to a page we may fetch
            skipped = PageOutcome(url, error_entry(url, "robots_disallowed", "robots.txt disallows this page"),
                                  None, None, error_code="robots_disallowed")
            await sink(skipped, depth, tally)
            return
        delay = await robots.crawl_delay(url, limits.user_agent) if robots is not None else None
        async with politeness.slot(url, crawl_delay=delay):
            outcome = await process_page(url, work, need_links=True)
        if outcome.final_url is not None and not frontier.mark_redirected(url, outcome.final_url):
            frontier.done(counted=False)  # redirected to a page this crawl already has
            return
        if depth < spec.max_depth:
            for link in outcome.links:
                if link in considered:
                    continue
                if len(considered) < MAX_CONSIDERED:
                    considered.add(link)
                if scope.allows(link):
                    frontier.add(link, depth + 1)
        tally.pages += 1
        if outcome.error_code is not None:
            tally.failed += 1
            tally.errors[outcome.error_code] = tally.errors.get(outcome.error_code, 0) + 1
        frontier.done()
        await sink(outcome, depth, tally)

    idle: deque[asyncio.Future[None]] = deque()

    def wake_idle() -> None:
        # Wake as many idle workers as there are URLs to take (all of them once the
        # crawl is over): waking every worker after every page costs a task switch
        # each, for nothing.
        count = len(idle) if frontier.finished else min(len(idle), max(1, frontier.counts.queued))
        for _ in range(count):
            waiter = idle.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def worker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = frontier.next_batch(1)  # no await between looking and taking
            if batch:
                try:
                    await crawl_one(*batch[0])
                finally:
                    wake_idle()
                continue
            if frontier.finished:
                wake_idle()
                return
            # Nothing to take now (all handed out, or the limit spoken for): a page
            # that finishes may queue links, give its place back, or end the crawl.
            waiter = loop.create_future()
            idle.append(waiter)
            await waiter

    await asyncio.gather(*(worker() for _ in range(limits.concurrency)))
    return tally


async def run_tracked_crawl(
    run: JobRun, request: dict[str, Any], work_for: Callable[[CrawlRequest], PageWork], policy: AddressPolicy,
    limits: CrawlLimits, watch: Watch,
) -> JobOutcome:
    """A crawl with `track_changes` (or a schedule's run), compared page by page with `watch`'s earlier looks.

    It runs in this one worker: the comparison's writes ride with each page's publish here (not yet with the
    completion script of a spread crawl)."""
    spec = CrawlRequest.model_validate(request)
    env = run.env
    tracked = spec.track_changes or watch.schedule is not None
    work = work_for(spec)
    asked = work.formats
    if tracked:  # the comparison reads the Markdown and the product; each page shows what was asked
        work = replace(work, formats=asked | TRACKING_FORMATS)
    # A new attempt starts a new page list, with its first publish: a stale attempt cannot drop it.
    run.with_next_publish(reset_command(env.queue.keys, run.job_id))
    if tracked:
        run.with_next_publish(forget_looks(env.queue.keys, run.job_id))
    # Pages finish concurrently; one at a time they are numbered and published, so
    # the stream's order is the order of `percent`.
    in_order = asyncio.Lock()

    async def record(outcome: PageOutcome, depth: int, tally: CrawlTally) -> None:
        page = await track_crawl_page(env.redis, env.queue.keys, watch, run.job_id, outcome.url, outcome.entry,
                                      asked, env.queue.limits.ttl_s) if tracked else None
        async with in_order:
            await publish_page(outcome, depth, tally, page)

    async def publish_page(outcome: PageOutcome, depth: int, tally: CrawlTally, page: TrackedCrawlPage | None) -> None:
        percent = run.set_percent(min(99, 100 * tally.pages // max(spec.limit, 1)))
        data = {"url": outcome.url, "status": outcome.status, "title": outcome.title, "depth": depth}
        if outcome.error_code:
            data["error"] = outcome.error_code
        events = [run.page_event(data, {"pages": tally.pages})]
        if percent is not None:  # progress only when the percent moves: at most 100 of them
            message = f"{tally.pages} of at most {spec.limit} pages"
            events.append(PendingEvent.make(EventType.PROGRESS, {"phase": "fetch", "percent": percent,
                                                                  "message": message},
                                            {"phase": "fetch", "percent": percent}))
        entry, then = outcome.entry, []
        if page is not None:
            entry, then = page.entry, list(page.commands)
            if page.tracked.changed_event is not None:
                events.append(PendingEvent.make(EventType.CHANGED, page.tracked.changed_event))
        await run.publish_events(
            *events, then=[*push_commands(env.queue.keys, run.job_id, entry, env.queue.limits.ttl_s), *then])

    tally = await crawl_site(run, spec, work, policy, limits, record)
    await run.progress("store", 100, f"Crawled {tally.pages} pages", defer=True)
    summary: dict[str, Any] = {"pages": tally.pages, "failed": tally.failed,
                               "skipped_by_robots": tally.skipped_by_robots, "errors": tally.errors}
    if tracked:
        summary["changes"], commands = await crawl_changes(env.redis, env.queue.keys, watch, run.job_id,
                                                           validate_url(spec.url, policy))
        run.with_next_publish(*commands)
    return JobOutcome(orjson.dumps(summary), summary)
