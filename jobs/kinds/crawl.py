"""The `crawl` job: breadth first from a start page, within scope, limit and depth, on every worker.

The job's own arq job is the crawl's coordinator: it opens the crawl's state in
Redis (`jobs.store.crawl_state`) with the start page (and the sitemaps' pages),
reads the start origin's robots.txt once for everyone, enqueues one
`crawl_part` per other live worker (at most MAX_PARTS), takes part itself
(`jobs.kinds.spread`), and once nothing is queued or leased, publishes
`completed` with the summary the shared counters hold.

Why the coordinator also takes part: a crawl on one worker runs as before,
without waiting for a part to be claimed; and it is the participant whose
end means the crawl's end. Parts are ordinary arq jobs, one slot each on
their worker, so a crawl never takes more than one slot of a worker and a
scrape submitted meanwhile starts at once.

A new attempt of the same run (its worker died, or drained) RESUMES the crawl:
the state is there under the same arq id, the pages done stay done, and the
dead worker's leased pages go to whoever takes next once their leases lapse.
A re-run (`POST /jobs/{id}/retry`, a new arq id) starts afresh.

A crawl that tracks changes (`track_changes`, or a schedule's run) spreads the
same way: each participant's page hook (`jobs.kinds.tracked_pages`) compares
its pages, and the coordinator adds what was new, changed, same and gone.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from jobs.changes.crawls import crawl_changes, forget_looks
from jobs.changes.tracking import TRACKING_FORMATS, Watch
from jobs.crawl import ScopeRules, normalize_url, sitemap_urls
from jobs.crawl.frontier import MIN_QUEUE, QUEUE_FACTOR
from jobs.errors import JobCancelled
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import PageWork
from jobs.kinds.spread import CrawlLimits, CrawlScope, CrawlWakes, Participant, shared_robots, url_tag
from jobs.kinds.tracked_pages import tracking_hook
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.models import CrawlRequest, WebhookSpec
from jobs.queue.claim import FENCE_FIELD, PART_PREFIX
from jobs.queue.enqueue import arq_job_commands, queue_commands
from jobs.queue.scores import queue_score
from jobs.store.crawl_state import CrawlBounds, CrawlEnded, CrawlState, CrawlSuperseded, Seed
from streams.events import now_ms
from streams.publish import ThenCommand

# Parts a crawl or batch enqueues at most: one per other live worker, up to this many.
MAX_PARTS = 16
PART_FUNCTION = "crawl_part"


@dataclass(frozen=True, slots=True)
class Spreading:
    """What a coordinator needs from its worker to spread a job: its run, wakes, and who else is alive."""

    arq_id: str  # the run's arq id: the same across attempts of one run, new for a re-run
    wakes: CrawlWakes
    # How many live workers take jobs of a kind (their parts wait in that kind's queue).
    live_workers: Callable[[str], Awaitable[int]]
    owner: str


def part_id(job_id: str, n: int) -> str:
    """The arq id of a job's n-th part: the same on every attempt, so a resumed crawl adds none."""
    return f"{PART_PREFIX}{job_id}-{n}"


async def enqueue_parts(run: JobRun, spreading: Spreading, kind: str, priority: int) -> int:
    """One part per other live worker of the job's kind (at most MAX_PARTS), in its queue, at its priority."""
    env = run.env
    count = min(MAX_PARTS, await spreading.live_workers(kind) - 1)
    if count <= 0:
        return 0
    ids = [part_id(run.job_id, n) for n in range(1, count + 1)]
    score = queue_score(now_ms(), priority, env.queue.priority_step_ms)
    async with env.redis.pipeline(transaction=True) as pipe:
        for arq_id in ids:
            queue_commands(pipe, arq_job_commands(env.queue.keys, PART_FUNCTION, arq_id, (run.job_id, spreading.owner),
                                                  kind=kind, score_ms=score, ttl_s=env.queue.limits.ttl_s))
        pipe.sadd(env.queue.keys.crawl_parts(run.job_id), *ids)
        pipe.expire(env.queue.keys.crawl_parts(run.job_id), env.queue.limits.ttl_s)
        pipe.publish(env.queue.keys.wake_channel(), b"job")
        await pipe.execute()
    return count


def holder_name(worker: str, arq_id: str, fence: int | None) -> str:
    """Names one participant in the leases it takes: the worker, the arq job, and its claim."""
    return f"{worker}/{arq_id}/{fence or 0}"


async def take_part(run: JobRun, participant: Participant) -> None:
    """Run the coordinator's own share; a crawl ended or taken over meanwhile stops the attempt."""
    try:
        await participant.run()
    except CrawlSuperseded as exc:
        raise JobCancelled(f"a newer attempt owns the job (lease lost: fence {run.fence} is stale)") from exc
    except CrawlEnded as exc:
        raise JobCancelled("the job was ended while it ran (cancelled or expired)") from exc


async def finish_spread(run: JobRun, state: CrawlState) -> dict[str, int]:
    """The shared counters; the working sets go with the terminal event (fenced with it)."""
    counters = await state.counters(run.env.redis)
    run.with_next_publish(*(ThenCommand("DEL", key) for key in state.working_keys()))
    return counters


async def run_crawl(
    run: JobRun, request: dict[str, Any], work_for: Callable[[CrawlRequest], PageWork], policy: AddressPolicy,
    limits: CrawlLimits, spreading: Spreading, watch: Watch,
) -> JobOutcome:
    """`watch`: whose earlier looks a tracked crawl (`track_changes`, or a schedule's run) compares with."""
    spec = CrawlRequest.model_validate(request)
    tracked = spec.track_changes or watch.schedule is not None
    env = run.env
    start = validate_url(spec.url, policy)
    first = normalize_url(start) or start
    scope_rules = ScopeRules(start, allow_subdomains=spec.allow_subdomains, include_paths=spec.include_paths,
                             exclude_paths=spec.exclude_paths)
    state = CrawlState(env.queue.keys, run.job_id)
    fence = None if run.fence is None else (FENCE_FIELD, run.fence)
    max_queued = max(MIN_QUEUE, spec.limit * QUEUE_FACTOR)
    bounds = CrawlBounds("crawl", spec.limit, max_queued, max_queued * 2 + spec.limit, limits.per_host,
                         int(limits.delay_s * 1000))
    try:
        resumed = await state.open(env.redis, run=spreading.arq_id, fence=fence, ttl_s=env.queue.limits.ttl_s,
                                   bounds=bounds, seeds=[Seed(url_tag(first), first, 0)])
    except (CrawlEnded, CrawlSuperseded) as exc:
        raise JobCancelled(f"the crawl cannot start: {exc}") from exc
    work = asked = work_for(spec)
    if tracked:  # the comparison reads the Markdown and the product; each page shows what was asked
        work = replace(work, formats=asked.formats | TRACKING_FORMATS)
    robots = shared_robots(env.redis, state, work, limits) if spec.respect_robots else None
    if resumed is None:
        if tracked:  # a crawl that starts afresh starts a new list of looks (a resumed one keeps its own)
            run.with_next_publish(forget_looks(env.queue.keys, run.job_id))
        if robots is not None:
            await robots.rules(start)  # once, before anyone else needs it
        if spec.sitemap:
            listed = await robots.sitemaps(start) if robots else []
            found = await sitemap_urls(work.fetcher.fetch, start, listed, max_urls=spec.limit * 4)
            seeds = [Seed(url_tag(url), url, min(1, spec.max_depth))
                     for url in dict.fromkeys(filter(None, map(normalize_url, filter(scope_rules.allows, found))))]
            await state.seed(env.redis, seeds)
        await run.progress("fetch", 1, f"Crawling {start}: up to {spec.limit} pages, {spec.max_depth} links deep")
    else:
        run.set_percent(min(99, 100 * resumed // spec.limit))
        await run.progress("fetch", 1, f"Resuming the crawl of {start}: {resumed} of at most {spec.limit} pages done")
    webhook = WebhookSpec.model_validate(request["webhook"]) if request.get("webhook") else None
    participant = Participant(env, state, holder_name(env.worker_name, spreading.arq_id, run.fence), run.attempt,
                              fence, work, policy, limits, CrawlScope(scope_rules, spec.max_depth, robots),
                              spreading.wakes, webhook,
                              tracking_hook(env, watch, run.job_id, asked.formats, fence, webhook) if tracked else None)
    with participant.joined():  # before its parts exist: this worker leaves them to the others
        await enqueue_parts(run, spreading, "crawl", spec.priority)
        await take_part(run, participant)
    counters = await finish_spread(run, state)
    pages = counters.get("pages", 0)
    await run.progress("store", 100, f"Crawled {pages} pages", defer=True)
    summary: dict[str, Any] = {
        "pages": pages, "failed": counters.get("failed", 0), "skipped_by_robots": counters.get("skipped", 0),
        "errors": {name.removeprefix("error "): count for name, count in counters.items()
                   if name.startswith("error ")}}
    if tracked:
        summary["changes"], commands = await crawl_changes(env.redis, env.queue.keys, watch, run.job_id, start)
        run.with_next_publish(*commands)
    return JobOutcome(orjson.dumps(summary), summary)
