"""A crawl inside one worker process, for `ask`: in-memory frontier, politeness and robots.txt.

`ask` crawls a few pages (20 by default) to answer from, and keeps their
Markdown in memory while it ranks passages, so its crawl stays in the one
process that ranks them: a `crawl` job spreads over every worker instead
(`jobs.kinds.crawl`).
Coroutines (CRAWL_CONCURRENCY of them) take URLs from the frontier; each page
is fetched within its host's politeness slot (HOST_CONCURRENCY, the politeness
delay, robots.txt's Crawl-delay), extracted, handed to a sink, and its in-scope links go back to the frontier.
Only URLs wait in memory, never pages.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jobs.crawl import Frontier, HostPoliteness, RobotsCache, ScopeRules, sitemap_urls
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import PageOutcome, PageWork, process_page
from jobs.kinds.spread import CrawlLimits
from jobs.lifecycle.attempt import JobRun
from jobs.models import CrawlRequest
from jobs.store.pages import error_entry


@dataclass(slots=True)
class CrawlTally:
    pages: int = 0
    failed: int = 0
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

