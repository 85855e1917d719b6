"""A crawl part: a worker joining a running crawl or batch that another worker coordinates.

The coordinator enqueues one per other live worker (`jobs.kinds.crawl`); it is
an ordinary arq job, so any worker with a free slot runs it, at the job's
priority. It reads the job's request from the record, then takes part
(`jobs.kinds.spread`) until the crawl is over or ended. Its writes are fenced
by its page leases, not by the job's attempt: a part outlives a coordinator
that died, and keeps working for the attempt that resumes the crawl.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from jobs.changes.tracking import TRACKING_FORMATS, Watch
from jobs.crawl import ScopeRules
from jobs.errors import JobError
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.crawl import holder_name
from jobs.kinds.page_work import PageWork
from jobs.kinds.spread import CrawlLimits, CrawlScope, CrawlWakes, Participant, shared_robots
from jobs.kinds.tracked_pages import tracking_hook
from jobs.lifecycle.attempt import JobEnv
from jobs.models import BatchRequest, CrawlRequest, JobStatus, PagesRequest, WebhookSpec
from jobs.store.crawl_state import CrawlEnded, CrawlState
from jobs.store.records import load_job


async def run_part(
    env: JobEnv, job_id: str, arq_id: str, try_number: int, work_for: Callable[[PagesRequest], PageWork],
    policy: AddressPolicy, limits: CrawlLimits, wakes: CrawlWakes, watch: Watch,
) -> str:
    """Take part in the job's crawl or batch until it is over; what became of it ("over" or "ended").

    `watch`: the owner's, for a crawl that tracks changes (a schedule's run compares with its schedule's).
    """
    stored = await load_job(env.redis, env.queue.keys, job_id)
    if stored is None or stored.record.status != JobStatus.RUNNING:
        return "ended"
    request = stored.request
    state = CrawlState(env.queue.keys, job_id)
    scope: CrawlScope | None = None
    spec: PagesRequest
    tracked = False  # a crawl that tracks changes (a batch never does)
    if request.get("type") == "crawl":
        spec = crawl = CrawlRequest.model_validate(request)
        tracked = crawl.track_changes or stored.record.schedule is not None
        try:
            start = validate_url(crawl.url, policy)
        except JobError:
            return "ended"  # the coordinator fails the job for it
        work = work_for(spec)
        scope = CrawlScope(
            ScopeRules(start, allow_subdomains=crawl.allow_subdomains, include_paths=crawl.include_paths,
                       exclude_paths=crawl.exclude_paths),
            crawl.max_depth, shared_robots(env.redis, state, work, limits) if crawl.respect_robots else None)
    else:
        spec = BatchRequest.model_validate(request)
        work = work_for(spec)
    webhook = WebhookSpec.model_validate(request["webhook"]) if request.get("webhook") else None
    hook = None
    if tracked:
        hook = tracking_hook(env, replace(watch, schedule=stored.record.schedule), job_id, work.formats, None,
                             webhook)
        work = replace(work, formats=work.formats | TRACKING_FORMATS)
    participant = Participant(env, state, holder_name(env.worker_name, arq_id, try_number), stored.record.attempt,
                              None, work, policy, limits, scope, wakes, webhook, hook)
    try:
        with participant.joined():
            await participant.run()
    except CrawlEnded:
        return "ended"
    return "over"
