"""The worker's context: everything job functions share, built once at startup.

arq hands every job function its `ctx` dict. Ours keeps one typed object in it,
under CONTEXT_KEY, instead of a dozen string keys: a job function reads
`worker_context(ctx).fetcher`, and mypy knows what that is. arq's own keys
(`redis`, `job_try`, `job_id` ...) stay where arq puts them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from redis.asyncio import Redis

from jobs.changes.tracking import ChangeLimits
from jobs.fetch import FetchLimits, PageFetcher
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import Extractor
from jobs.kinds.spread import CrawlLimits, CrawlWakes
from jobs.lifecycle.attempt import AttemptLimits, JobEnv
from jobs.lifecycle.submit import QueueConfig
from jobs.queue.claim import RunningCap
from jobs.settings import Settings
from jobs.webhooks.delivery import webhook_client

if TYPE_CHECKING:
    from jobs.llm.client import LLMClient

CONTEXT_KEY = "scrapestream"
"""The one key of arq's `ctx` that holds our WorkerContext."""


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """What the jobs of one worker share: job environment, clients, limits."""

    env: JobEnv
    policy: AddressPolicy
    running_cap: RunningCap
    fetcher: PageFetcher
    webhook_client: httpx.AsyncClient
    extractor: Extractor
    crawl_limits: CrawlLimits
    llm: LLMClient | None  # None when no model is configured
    change_limits: ChangeLimits
    # arq job id -> the fence its claim took (`jobs.queue.claim`): set before the job's task
    # starts, removed when it ends. 0 for a job without a record (a webhook delivery, the cron).
    fences: dict[str, int] = field(default_factory=dict)
    # The crawls and batches this worker takes part in, woken by `crawl <job id>` on the wake channel.
    crawl_wakes: CrawlWakes = field(default_factory=CrawlWakes)

    async def aclose(self) -> None:
        """Close every client and pool; each one even if another fails to close."""
        async with contextlib.AsyncExitStack() as closing:
            closing.callback(self.extractor.close)
            if self.llm is not None:
                closing.push_async_callback(self.llm.aclose)
            closing.push_async_callback(self.webhook_client.aclose)
            closing.push_async_callback(self.fetcher.aclose)


def worker_context(ctx: Mapping[str, Any]) -> WorkerContext:
    """The WorkerContext in arq's `ctx`; a RuntimeError if the worker's startup did not make one."""
    context = ctx.get(CONTEXT_KEY)
    if not isinstance(context, WorkerContext):
        raise RuntimeError(f"no WorkerContext under ctx[{CONTEXT_KEY!r}]: the worker's on_startup did not run")
    return context


def has_worker_context(ctx: Mapping[str, Any]) -> bool:
    """Whether startup got as far as making the context (shutdown closes only what exists)."""
    return isinstance(ctx.get(CONTEXT_KEY), WorkerContext)


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        connect_timeout_s=settings.fetch_connect_timeout_s,
        read_timeout_s=settings.fetch_read_timeout_s,
        total_timeout_s=settings.fetch_timeout_s,
    )


def open_worker_context(settings: Settings, redis: Redis, *, worker_name: str) -> WorkerContext:
    """Build the context for these settings; the caller closes it (`aclose`) at shutdown."""
    queue = QueueConfig.from_settings(settings)
    policy = AddressPolicy.from_setting(settings.allow_private_addresses, settings.allowed_ports)
    env = JobEnv(
        redis=redis,
        queue=queue,
        worker_name=worker_name,
        attempt_limits=AttemptLimits(
            default_timeout_s=settings.job_timeout_s,
            max_timeout_s=settings.max_job_timeout_s,
            max_attempts=settings.max_attempts,
            retry_base_s=settings.retry_base_s,
            retry_max_delay_s=settings.retry_max_delay_s,
        ),
    )
    llm: LLMClient | None = None
    if settings.llm_configured:
        # Imported only when used: the openai package takes most of a second to import.
        from jobs.llm.client import LLMClient
        from jobs.llm.config import LLMConfig

        llm = LLMClient(LLMConfig(
            base_url=settings.openai_base_url or None, api_key=settings.openai_api_key or None,
            model=settings.openai_model, timeout_s=settings.llm_timeout_s,
            max_attempts=settings.llm_max_attempts, token_budget=settings.llm_token_budget))
    return WorkerContext(
        env=env,
        policy=policy,
        # A running entry counts until the longest job could have ended.
        running_cap=RunningCap(queue.keys, settings.max_running_per_key,
                               stale_after_ms=int((settings.max_job_timeout_s + 120) * 1000)),
        fetcher=PageFetcher(limits=fetch_limits(settings), policy=policy, user_agent=settings.user_agent,
                            backend=settings.fetch_backend),
        webhook_client=webhook_client(policy, user_agent=settings.user_agent, backend=settings.fetch_backend),
        extractor=Extractor(settings.extract_processes),
        crawl_limits=CrawlLimits(concurrency=settings.crawl_concurrency, per_host=settings.host_concurrency,
                                 delay_s=settings.politeness_delay_s, user_agent=settings.user_agent,
                                 lease_s=settings.worker_lease_s),
        llm=llm,
        change_limits=ChangeLimits(ttl_s=settings.changes_ttl_s, history_max=settings.changes_history_max),
    )
