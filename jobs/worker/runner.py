"""The arq worker: startup, pickup without waiting for a poll, and short leases.

arq's worker looks at its queue every `poll_delay`, so a job waits up to that
long before it starts. `InstantWorker` subscribes to the wake channel that
every submit (and every cancel) publishes to, and looks at the queue the
moment a message arrives; the poll stays as a fallback for scheduled jobs and
for a missed message (pub/sub is fire-and-forget).

arq marks a running job with an in-progress key that lives as long as the
longest job timeout (+10 s): a worker killed with SIGKILL leaves its jobs
blocked that long (an hour here). Ours is a lease of WORKER_LEASE_S that the
worker renews with its heartbeat while the job runs; when a worker dies, its
jobs run again elsewhere within the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.cron import cron
from arq.worker import Worker, func
from redis.asyncio import BlockingConnectionPool

from jobs.fetch import FetchLimits, PageFetcher
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.crawl import CrawlLimits
from jobs.kinds.page_work import Extractor
from jobs.lifecycle.attempt import WEBHOOK_FUNCTION, JobEnv
from jobs.queue.arq_layout import QUEUE_KEY
from jobs.queue.claim import RunningCap, claim_jobs
from jobs.queue.payloads import deserialize_job, serialize_job
from jobs.queue.scores import promote_due
from jobs.settings import Settings
from jobs.webhooks.delivery import DELIVERY_TIMEOUT_S, MAX_DELIVERY_ATTEMPTS, deliver_webhook, webhook_client
from jobs.worker.cleanup import cleanup_expired
from jobs.worker.functions import JOB_FUNCTIONS
from jobs.worker.heartbeat import HEARTBEAT_EVERY_S, heartbeat, leave, renew_leases
from streams.events import now_ms
from streams.keys import Keyspace
from streams.publish import StreamLimits

logger = logging.getLogger("scrapestream.worker")


class InstantWorker(Worker):
    """An arq `Worker` that wakes on the wake channel instead of sleeping a poll."""

    def __init__(
        self, *args: Any, wake_channel: str, running_cap: RunningCap, lease_s: float = 60.0, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lease_s = lease_s
        self._check_schedule = True
        self._next_at: int | None = None
        self.wake_channel = wake_channel
        self.running_cap = running_cap
        self._wake = asyncio.Event()

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """arq's `start_jobs`, claiming the whole batch in one round trip (see `jobs.queue.claim`)."""
        free = self.max_jobs - self.job_counter
        wanted = [job_id.decode() for job_id in job_ids[: max(free, 0)]]
        claimed = await claim_jobs(
            self.pool, wanted, now_ms=now_ms(), in_progress_ms=int(self.lease_s * 1000),
            cap=self.running_cap, queue_key=self.queue_name,
        )
        for job_id, score in claimed:
            await self.sem.acquire()  # never waits: `free` slots were counted above
            self.job_counter += 1
            task = self.loop.create_task(self.run_job(job_id, score))
            task.add_done_callback(lambda _: self._release_sem_dec_counter_on_complete())
            self.tasks[job_id] = task

    def _release_sem_dec_counter_on_complete(self) -> None:
        super()._release_sem_dec_counter_on_complete()
        # A slot is free: a job that found every slot busy can start now.
        self._wake.set()

    async def _listen_for_wake(self) -> None:
        while True:
            pubsub = self.pool.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.wake_channel)
                self._check_schedule = True
                self._wake.set()  # whatever was published while we were not listening
                async for message in pubsub.listen():
                    if message.get("data") != b"job":
                        # Anything but a plain submit (a scheduled job, a cancel, a slot, a
                        # reconnect) may change when the next scheduled job is due.
                        self._check_schedule = True
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("wake channel lost; polling until it is back", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _heartbeat_forever(self) -> None:
        # Its own task: a worker whose slots are all busy is alive all the same.
        env: JobEnv = self.ctx["env"]
        every_s = min(HEARTBEAT_EVERY_S, self.lease_s / 3)
        while True:
            try:
                await heartbeat(self.pool, env.keys, env.worker_name, running=len(self.job_tasks))
                await renew_leases(self.pool, list(self.tasks), self.lease_s)
            except Exception:
                logger.warning("heartbeat failed", exc_info=True)
            await asyncio.sleep(every_s)

    async def close(self) -> None:
        """arq's `Worker.close`, leaving the live-workers set, with redis-py 5's `aclose`."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        env: JobEnv | None = self.ctx.get("env")
        with contextlib.suppress(Exception):
            if env is not None:
                await leave(self.pool, env.keys, env.worker_name)
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None

    async def main(self) -> None:
        """arq's `Worker.main`, with the poll sleep replaced by a wait for a wake."""
        assert self._pool is not None, "InstantWorker is built with its redis_pool"
        logger.info("worker %s ready for: %s", self.ctx.get("worker_name"), ", ".join(self.functions))
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        listener = asyncio.create_task(self._listen_for_wake(), name="wake-listener")
        beat = asyncio.create_task(self._heartbeat_forever(), name="heartbeat")
        try:
            backoff = 0.1
            while True:
                self._wake.clear()
                wait_s = self.poll_delay_s
                try:
                    # The scheduled set is looked at only when something may have changed
                    # (or a start time came): a plain submit costs no extra round trip.
                    if self._check_schedule or (self._next_at is not None and self._next_at <= now_ms()):
                        self._check_schedule = False
                        self._next_at = await self._promote_scheduled()
                    await self._poll_iteration()
                    if self._next_at is not None:
                        # Sleep no longer than until the next scheduled job is due.
                        wait_s = max(0.0, min(wait_s, (self._next_at - now_ms()) / 1000))
                    backoff = 0.1
                except Exception:
                    # Redis restarting, a network blip: keep the worker, retry shortly.
                    logger.warning("poll failed; retrying in %.1f s", backoff, exc_info=True)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                if self.burst and await self._burst_done():
                    return
                try:
                    async with asyncio.timeout(wait_s):
                        await self._wake.wait()
                except TimeoutError:
                    self._check_schedule = True  # the fallback look covers a missed message too
        finally:
            for task in (listener, beat):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _promote_scheduled(self) -> int | None:
        env: JobEnv = self.ctx["env"]
        _moved, next_at = await promote_due(
            self.pool, env.keys, now_ms=now_ms(), step_ms=env.priority_step_ms
        )
        return next_at

    async def _burst_done(self) -> bool:
        if 0 <= self.max_burst_jobs <= self._jobs_started() or await self.pool.zcard(self.queue_name) == 0:
            await asyncio.gather(*self.tasks.values())
            return True
        return False


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def fetch_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        connect_timeout_s=settings.fetch_connect_timeout_s,
        read_timeout_s=settings.fetch_read_timeout_s,
        total_timeout_s=settings.fetch_timeout_s,
    )


def worker_options(settings: Settings) -> dict[str, Any]:
    """arq `Worker` options for these settings: job functions, cron, startup and shutdown."""
    keys = Keyspace(settings.key_prefix)
    policy = AddressPolicy.from_setting(settings.allow_private_addresses, settings.allowed_ports)
    name = worker_name()
    running_cap = RunningCap(
        keys, settings.max_running_per_key, stale_after_ms=int((settings.max_job_timeout_s + 120) * 1000)
    )

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["env"] = JobEnv(
            redis=ctx["redis"],
            keys=keys,
            limits=StreamLimits(maxlen=settings.stream_maxlen, ttl_s=settings.retention_s),
            worker_name=name,
            default_timeout_s=settings.job_timeout_s,
            max_timeout_s=settings.max_job_timeout_s,
            max_attempts=settings.max_attempts,
            retry_base_s=settings.retry_base_s,
            retry_max_delay_s=settings.retry_max_delay_s,
            priority_step_ms=int(settings.priority_step_s * 1000),
        )
        ctx["policy"] = policy
        ctx["running_cap"] = running_cap
        ctx["webhook_client"] = webhook_client(policy, user_agent=settings.user_agent)
        ctx["extractor"] = Extractor(settings.extract_processes)
        ctx["crawl_limits"] = CrawlLimits(concurrency=settings.crawl_concurrency, per_host=settings.host_concurrency,
                                          delay_s=settings.politeness_delay_s, user_agent=settings.user_agent)
        if settings.llm_configured:
            from jobs.llm import LLMClient, LLMConfig

            ctx["llm"] = LLMClient(LLMConfig(
                base_url=settings.openai_base_url or None, api_key=settings.openai_api_key or None,
                model=settings.openai_model, timeout_s=settings.llm_timeout_s,
                max_attempts=settings.llm_max_attempts, token_budget=settings.llm_token_budget))
        ctx["fetcher"] = PageFetcher(limits=fetch_limits(settings), policy=policy, user_agent=settings.user_agent,
                                     backend=settings.fetch_backend)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        for name in ("fetcher", "webhook_client", "llm"):
            closable = ctx.get(name)
            if closable is not None:
                await closable.aclose()
        extractor = ctx.get("extractor")
        if extractor is not None:
            extractor.close()

    return {
        # max_tries: our own attempt count decides when to stop (`max_attempts`).
        "functions": [
            *(func(function, name=kind, timeout=settings.max_job_timeout_s + 30, max_tries=1_000)
              for kind, function in JOB_FUNCTIONS.items()),
            func(deliver_webhook, name=WEBHOOK_FUNCTION, max_tries=MAX_DELIVERY_ATTEMPTS,
                 timeout=DELIVERY_TIMEOUT_S + 15),
        ],
        "queue_name": QUEUE_KEY,
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": settings.worker_concurrency,
        "poll_delay": settings.worker_poll_s,
        "keep_result": 0,  # results live in our own key, with the job's retention
        "allow_abort_jobs": True,
        "job_serializer": serialize_job,
        "job_deserializer": deserialize_job,
        "ctx": {"worker_name": name},
        # Every 10 minutes, one worker (arq makes the run unique) prunes what expiry leaves behind.
        "cron_jobs": [cron(cleanup_expired, name="cleanup", minute=set(range(0, 60, 10)), second=17,
                           run_at_startup=False, timeout=600)],
        "_running_cap": running_cap,
    }


def build_worker(settings: Settings, *, redis: ArqRedis | None = None, **overrides: Any) -> InstantWorker:
    """A ready-to-run worker for these settings (tests pass overrides such as burst)."""
    # Blocking: past the cap, a command waits for a connection instead of failing.
    # One more than the setting: the wake subscription holds one for good.
    pool = redis or ArqRedis(
        connection_pool=BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=settings.redis_max_connections + 1, timeout=30
        )
    )
    pool.job_serializer = serialize_job
    pool.job_deserializer = deserialize_job
    options = worker_options(settings)
    options.update(
        redis_pool=pool,
        running_cap=options.pop("_running_cap"),
        wake_channel=Keyspace(settings.key_prefix).wake_channel(),
        lease_s=settings.worker_lease_s,
    )
    options.update(overrides)
    return InstantWorker(**options)


def run_worker(settings: Settings | None = None) -> None:
    """Entry point of the `worker:` process."""
    settings = settings or Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    async def main() -> None:
        worker = build_worker(settings)
        try:
            await worker.async_run()
        except asyncio.CancelledError:
            pass
        finally:
            await worker.close()

    with contextlib.suppress(KeyboardInterrupt):
        try:
            import uvloop

            uvloop.run(main())
        except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
            asyncio.run(main())


def __getattr__(name: str) -> Any:
    """`WorkerSettings`, built on first use, for `arq jobs.worker.runner.WorkerSettings`.

    That runs arq's own `Worker`: everything works, but pickup waits for its poll
    and a killed worker's jobs wait for arq's long in-progress keys. Prefer
    `scrapestream worker`. Built lazily so that importing this module reads no
    environment.
    """
    if name != "WorkerSettings":
        raise AttributeError(name)
    settings = Settings()
    options = worker_options(settings)
    options.pop("_running_cap")
    options["redis_settings"] = RedisSettings.from_dsn(settings.redis_url)
    return type("WorkerSettings", (), options)
