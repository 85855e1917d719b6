"""The arq job functions: one per job kind, the webhook delivery and the cleanup cron.

arq calls a job kind as `fn(ctx, job_id, request, owner, attempt_base)`. These
are the only functions that read arq's `ctx`: what the worker built at startup
comes from `worker_context(ctx)` (jobs.worker.context), arq's try count from
`ctx["job_try"]`; everything below them receives plain typed values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from arq.typing import WorkerCoroutine
from arq.worker import Retry

from jobs.changes.tracking import Watch
from jobs.kinds.ask import run_ask
from jobs.kinds.batch import run_batch
from jobs.kinds.crawl import Spreading, run_crawl
from jobs.kinds.crawl_part import run_part
from jobs.kinds.page_work import PageWork
from jobs.kinds.scrape import scrape_page
from jobs.lifecycle.attempt import JobBody, JobOutcome, JobRun, RetryLater, run_attempt
from jobs.models import ExtractSpec, Format, PagesRequest
from jobs.webhooks.delivery import deliver_event
from jobs.worker.cleanup import cleanup_expired
from jobs.worker.context import WorkerContext, worker_context
from jobs.worker.heartbeat import live_workers


async def _run(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str, attempt_base: int,
               body: JobBody) -> str:
    context = worker_context(ctx)
    env = context.env
    # The claim's fence: every write of the attempt (and the release of its running slot) is refused
    # once a newer claim took the job over. None under arq's own worker, which claims without one.
    fence = context.fences.get(ctx["job_id"])
    try:
        # arq counts tries from 1 per enqueue; a client's re-run continues the count.
        outcome = await run_attempt(env, job_id, request, attempt_base + ctx["job_try"], body, fence=fence,
                                    owner=owner)
    finally:
        # The running entry is the claim's: under the arq id (`<job id>.<n>` for a re-run).
        await context.running_cap.release(env.redis, owner, ctx["job_id"], fence=fence)
    if isinstance(outcome, RetryLater):
        raise Retry(defer=outcome.delay_s)
    return outcome


def _work(context: WorkerContext, spec: PagesRequest) -> PageWork:
    extract: ExtractSpec | None = spec.extract
    formats = frozenset(Format(f).value for f in spec.formats)
    return PageWork(context.fetcher, formats, extract, context.llm, context.extractor)


def _spreading(ctx: dict[str, Any], owner: str) -> Spreading:
    """How a crawl or batch of this run spreads: its arq id, this worker's wakes, and who else is alive."""
    context = worker_context(ctx)
    env = context.env
    async def taking(kind: str) -> int:
        return sum(worker["kinds"] is None or kind in worker["kinds"]
                   for worker in await live_workers(env.redis, env.queue.keys))

    return Spreading(ctx["job_id"], context.crawl_wakes, taking, owner)


BodyFor = Callable[[dict[str, Any], WorkerContext, str], JobBody]
"""What a kind runs in an attempt, given arq's ctx, the worker's context and the job's owner."""


def _job_function(body_for: BodyFor) -> WorkerCoroutine:
    """The arq function of a kind: every kind runs its body through the same attempt (`_run`)."""

    async def job(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str = "public",
                  attempt_base: int = 0) -> str:
        return await _run(ctx, job_id, request, owner, attempt_base, body_for(ctx, worker_context(ctx), owner))

    return job


def _scrape(ctx: dict[str, Any], context: WorkerContext, owner: str) -> JobBody:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        # A schedule's run compares with the schedule's earlier runs, any other tracked scrape with its owner's.
        watch = Watch(owner, run.schedule_id, context.change_limits)
        return await scrape_page(run, req, context.fetcher, context.extractor, context.policy, watch, context.llm)

    return body


def _crawl(ctx: dict[str, Any], context: WorkerContext, owner: str) -> JobBody:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_crawl(run, req, lambda spec: _work(context, spec), context.policy, context.crawl_limits,
                               _spreading(ctx, owner), Watch(owner, run.schedule_id, context.change_limits))

    return body


def _batch(ctx: dict[str, Any], context: WorkerContext, owner: str) -> JobBody:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_batch(run, req, _work(context, PagesRequest.model_validate(
            {k: v for k, v in req.items() if k in ("formats", "extract")})), context.policy, context.crawl_limits,
            _spreading(ctx, owner))

    return body


def _ask(ctx: dict[str, Any], context: WorkerContext, owner: str) -> JobBody:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_ask(run, req, lambda spec: _work(context, spec), context.policy, context.crawl_limits,
                             context.llm, owner)

    return body


JOB_FUNCTIONS: dict[str, WorkerCoroutine] = {
    kind: _job_function(body_for)
    for kind, body_for in {"scrape": _scrape, "crawl": _crawl, "batch": _batch, "ask": _ask}.items()
}


async def crawl_part(ctx: dict[str, Any], job_id: str, owner: str) -> str:
    """A part of a running crawl or batch (jobs.kinds.crawl_part): no attempt, no record of its own."""
    context = worker_context(ctx)
    return await run_part(context.env, job_id, ctx["job_id"], ctx.get("job_try") or 1,
                          lambda spec: _work(context, spec), context.policy, context.crawl_limits,
                          context.crawl_wakes, Watch(owner, None, context.change_limits))



async def deliver(ctx: dict[str, Any], job_id: str, event_id: str, event_type: str, data: dict[str, Any],
                  url: str, secret: str) -> str:
    """One webhook delivery attempt (see jobs.webhooks.delivery); `secret` last, out of arq's log line."""
    return await deliver_event(worker_context(ctx).webhook_client, ctx.get("job_try") or 1,
                               job_id, event_id, event_type, data, url, secret)


async def cleanup(ctx: dict[str, Any]) -> dict[str, int]:
    """The cron job: prune what key expiry leaves behind (jobs.worker.cleanup)."""
    env = worker_context(ctx).env
    return await cleanup_expired(env.redis, env.queue)
