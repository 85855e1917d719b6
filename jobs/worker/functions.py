"""The arq job functions, one per job kind; each runs one attempt through `run_attempt`.

arq calls them as `fn(ctx, job_id, request, owner, attempt_base)`; `ctx` holds
what the worker built at startup (see `jobs.worker.runner`).
"""

from __future__ import annotations

from typing import Any

from arq.worker import Retry

from jobs.kinds.ask import run_ask
from jobs.kinds.batch import run_batch
from jobs.kinds.crawl import run_crawl
from jobs.kinds.page_work import PageWork
from jobs.kinds.scrape import scrape_page
from jobs.lifecycle.attempt import JobBody, JobEnv, JobOutcome, JobRun, RetryLater, run_attempt
from jobs.models import ExtractSpec, Format, _PagesRequest


async def _run(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str, attempt_base: int,
               body: JobBody) -> str:
    env: JobEnv = ctx["env"]
    try:
        # arq counts tries from 1 per enqueue; a client's re-run continues the count.
        outcome = await run_attempt(env, job_id, request, attempt_base + ctx["job_try"], body)
    finally:
        await ctx["running_cap"].release(env.redis, owner, job_id)
    if isinstance(outcome, RetryLater):
        raise Retry(defer=outcome.delay_s)
    return outcome


def _work(ctx: dict[str, Any], spec: _PagesRequest) -> PageWork:
    extract: ExtractSpec | None = spec.extract
    formats = frozenset(Format(f).value for f in spec.formats)
    return PageWork(ctx["fetcher"], formats, extract, ctx.get("llm"), ctx["extractor"])


async def scrape(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str = "public",
                 attempt_base: int = 0) -> str:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await scrape_page(run, req, ctx["fetcher"], ctx["policy"], owner, ctx.get("llm"))

    return await _run(ctx, job_id, request, owner, attempt_base, body)


async def crawl(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str = "public",
                attempt_base: int = 0) -> str:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_crawl(run, req, lambda spec: _work(ctx, spec), ctx["policy"], ctx["crawl_limits"])

    return await _run(ctx, job_id, request, owner, attempt_base, body)


async def batch(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str = "public",
                attempt_base: int = 0) -> str:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_batch(run, req, _work(ctx, _PagesRequest.model_validate(
            {k: v for k, v in req.items() if k in ("formats", "extract")})), ctx["policy"], ctx["crawl_limits"])

    return await _run(ctx, job_id, request, owner, attempt_base, body)


async def ask(ctx: dict[str, Any], job_id: str, request: dict[str, Any], owner: str = "public",
              attempt_base: int = 0) -> str:
    async def body(run: JobRun, req: dict[str, Any]) -> JobOutcome:
        return await run_ask(run, req, lambda spec: _work(ctx, spec), ctx["policy"], ctx["crawl_limits"],
                             ctx.get("llm"), owner)

    return await _run(ctx, job_id, request, owner, attempt_base, body)


JOB_FUNCTIONS = {"scrape": scrape, "crawl": crawl, "batch": batch, "ask": ask}
