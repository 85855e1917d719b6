"""The arq worker: startup, pickup without waiting for a poll, and short leases.

arq's worker looks at its queue every `poll_delay`, so a job waits up to that
long before it starts. `InstantWorker` subscribes to the wake channel that
every submit (and every cancel) publishes to, and looks at the queue the
moment a message arrives; the poll stays as a fallback for scheduled jobs and
for a missed message (pub/sub is fire-and-forget).

Each look at the queue claims every free slot (`jobs.queue.claim`): jobs that
run elsewhere are left out before the free slots are counted against the rest.
A worker takes the queues of its job kinds (`--kinds`, WORKER_KINDS) and the
shared one, and deals its free slots fairly among them (`jobs.queue.lanes`).

arq marks a running job with an in-progress key that lives as long as the
longest job timeout (+10 s): a worker killed with SIGKILL leaves its jobs
blocked that long (an hour here). Ours is a lease of WORKER_LEASE_S that the
worker renews with its heartbeat (every quarter of the lease) while the job
runs; when a worker dies, its jobs run again elsewhere within the lease (plus
at most one poll).

SIGTERM (or SIGINT) drains instead of cancelling everything: no new claims,
running jobs get WORKER_DRAIN_S to finish, then what is left is requeued as
the same attempt (`jobs.worker.drain`) and the worker exits. A second signal
ends the drain at once.

`InstantWorker` overrides or calls arq `Worker` internals (`main`, `close`,
`_poll_iteration`, `handle_sig`, `run_job`, `_jobs_started`, ...): arq is
bounded in pyproject.toml and tests/repo/test_library_internals.py fails,
naming the internal, when one of them changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import signal
import socket
from typing import Any

from arq.connections import ArqRedis
from arq.cron import cron
from arq.worker import Worker, func

from jobs.kinds.crawl import PART_FUNCTION
from jobs.lifecycle.attempt import WEBHOOK_FUNCTION
from jobs.logs import configure_logging, current_job_id
from jobs.queue.claim import ClaimedJob
from jobs.queue.kinds import JOB_KINDS
from jobs.queue.lanes import Lane, claim_fairly, waiting_in, worker_lanes
from jobs.queue.payloads import deserialize_job, serialize_job
from jobs.queue.scores import promote_due
from jobs.schedules.store import WAKE_MESSAGE as SCHEDULE_WAKE
from jobs.schedules.ticker import ScheduleTicker
from jobs.settings import Settings
from jobs.webhooks.delivery import DELIVERY_TIMEOUT_S, MAX_DELIVERY_ATTEMPTS
from jobs.worker.context import CONTEXT_KEY, has_worker_context, open_worker_context, worker_context
from jobs.worker.drain import requeue_drained
from jobs.worker.functions import JOB_FUNCTIONS, cleanup, crawl_part, deliver
from jobs.worker.heartbeat import WorkerCard, heartbeat, heartbeat_every_s, leave
from jobs.worker.leases import finish_held_job, renew_leases
from jobs.worker.poison import PoisonGuard
from streams.events import now_ms
from streams.keys import Keyspace

logger = logging.getLogger("scrapestream.worker")


arq_logger = logging.getLogger("arq.worker")
# arq's line for a job that starts: `<wait since enqueue>s → <id>:<function>(<args>)< try=n>< delayed=…s>`.
ARQ_START_LINE = "%6.2fs → %s(%s)%s"
_DELAYED = re.compile(r" delayed=[0-9.]+s")


class NoPhantomDelay(logging.Filter):
    """Drops `delayed=` from arq's start line: arq measures it from the queue score, which our priorities
    shift into the past by design (`jobs.queue.scores`), so a job started at once read `delayed=300.00s`.
    The line's first figure, the wait since the job was enqueued, is the true one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == ARQ_START_LINE and isinstance(record.args, tuple) and len(record.args) == 4:
            wait, ref, args, extra = record.args
            record.args = (wait, ref, args, _DELAYED.sub("", str(extra)))
        return True


class InstantWorker(Worker):
    """An arq `Worker` that wakes on the wake channel instead of sleeping a poll, and takes several queues.

    arq's Worker takes one queue (`queue_name`). This one claims from its lanes (`jobs.queue.lanes`:
    the queue of each kind it takes, and the shared one, which is its `queue_name`: the cron is queued
    there) and remembers each job's queue, where arq's end of the job (finish, retry delay, failure)
    and a poison payload's removal then happen.
    """

    def __init__(self, *args: Any, wake_channel: str, lease_s: float = 10.0, drain_s: float = 25.0,
                 kinds: tuple[str, ...] = JOB_KINDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        self.lanes: tuple[Lane, ...] = worker_lanes(Keyspace(), kinds)  # arq's keys: under no prefix of ours
        self._lane_of = {lane.queue: lane.name for lane in self.lanes}
        # arq job id -> the claim running it: its queue, for arq's end of the job.
        self._claims: dict[str, ClaimedJob] = {}
        self.lease_s = lease_s
        self.drain_s = drain_s
        self._drain: asyncio.Task[None] | None = None
        self._drain_now = asyncio.Event()
        # arq job ids whose job function the drain cancelled: requeued as the same attempt.
        self._requeuing: set[str] = set()
        self._on_job_end = self.on_job_end
        self.on_job_end = self._job_end  # arq awaits it after the function, before it frees the lease
        self._check_schedule = True
        self._next_at: int | None = None
        self.wake_channel = wake_channel
        self._wake = asyncio.Event()
        self.poison = PoisonGuard({name: function.coroutine for name, function in self.functions.items()})
        if not any(isinstance(f, NoPhantomDelay) for f in arq_logger.filters):
            arq_logger.addFilter(NoPhantomDelay())
        # Job runs that ended on this worker (webhook deliveries and the cron aside): its card says so.
        self.jobs_finished = 0
        # Submits the runs of schedules (`jobs.schedules.ticker`); made at startup, none in a burst.
        self.schedule_ticker: ScheduleTicker | None = None

    async def _poll_iteration(self) -> None:
        """arq's `_poll_iteration`, claiming every free slot through `jobs.queue.claim` instead of a listing."""
        if self.allow_pick_jobs and self.job_counter < self.max_jobs:
            await self._claim_free_slots()
        if self.allow_abort_jobs:
            await self._cancel_aborted_jobs()
        for job_id, task in list(self.tasks.items()):
            if task.done():
                del self.tasks[job_id]
                task.result()  # as in arq: an error of run_job itself surfaces here
        await self.heart_beat()

    async def _claim_free_slots(self) -> None:
        free = self.max_jobs - self.job_counter
        if self.burst and self.max_burst_jobs >= 0:
            free = min(free, self.max_burst_jobs - self._jobs_started())
        context = worker_context(self.ctx)
        running: dict[str, int] = {}
        for held in self._claims.values():
            lane = self._lane_of.get(held.queue, "")
            running[lane] = running.get(lane, 0) + 1
        claimed = await claim_fairly(
            self.pool, self.lanes, free=free, running=running, now_ms=now_ms(), lease_ms=int(self.lease_s * 1000),
            holder=context.env.worker_name, cap=context.running_cap, still_wanted=lambda: self.allow_pick_jobs,
            passes_over=context.crawl_wakes.is_own_part,
        )
        for job in claimed:
            await self.sem.acquire()  # never waits: `free` slots were counted above
            self.job_counter += 1
            context.fences[job.job_id] = job.fence  # before the task: the job function reads it
            self._claims[job.job_id] = job
            task = self.loop.create_task(self.run_job(job.job_id, job.score))
            task.add_done_callback(functools.partial(self._job_ended, job))
            self.tasks[job.job_id] = task

    def _job_ended(self, job: ClaimedJob, _task: asyncio.Task[None]) -> None:
        # What arq's own done callback does (free the slot), then wake the loop:
        # a job that found every slot busy can start now.
        self.job_counter -= 1
        self.sem.release()
        if job.fence > 0:  # a job with a record: not a webhook delivery or the cron
            self.jobs_finished += 1
        fences = worker_context(self.ctx).fences
        if fences.get(job.job_id) == job.fence:  # not a newer claim of the same job
            del fences[job.job_id]
        if self._claims.get(job.job_id) is job:
            del self._claims[job.job_id]
        self._wake.set()

    async def _listen_for_wake(self) -> None:
        crawl_wakes = worker_context(self.ctx).crawl_wakes
        while True:
            pubsub = self.pool.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.wake_channel)
                self._check_schedule = True
                self._wake.set()  # whatever was published while we were not listening
                if self.schedule_ticker is not None:
                    self.schedule_ticker.wake()
                async for message in pubsub.listen():
                    if message.get("data") == SCHEDULE_WAKE and self.schedule_ticker is not None:
                        self.schedule_ticker.wake()
                        continue
                    if isinstance(message.get("data"), bytes) and crawl_wakes.wake(message["data"]):
                        continue  # a crawl's participants take again; the queue has not changed
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
        context = worker_context(self.ctx)
        env = context.env
        every_s = heartbeat_every_s(self.lease_s)
        card = WorkerCard(env.worker_name, kinds=list(self.kinds))
        while True:
            try:
                if self._drain is None:  # a draining worker is no longer one that takes jobs
                    card.finished = self.jobs_finished
                    await heartbeat(self.pool, env.queue.keys, card)
                self._stop_lapsed(await renew_leases(self.pool, env.queue.keys, env.worker_name, dict(context.fences),
                                                     self.lease_s))
            except Exception:
                logger.warning("heartbeat failed", exc_info=True)
            await asyncio.sleep(every_s)

    def _stop_lapsed(self, job_ids: list[str]) -> None:
        """Cancel the jobs whose lease this worker lost (it stalled): another claim runs them, or will.

        Nothing is written for them: their writes are fenced, and `finish_job` leaves what is
        now the other claim's. One not yet in its function is stopped at the next renewal.
        """
        for job_id in job_ids:
            function = self.job_tasks.get(job_id)
            if function is not None and not function.done():
                logger.warning("job %s: lease lost (this worker stalled past it); stopping it, writing nothing",
                               job_id)
                function.cancel()

    async def finish_job(self, job_id: str, finish: bool, _result_data: bytes | None, _result_timeout_s: float | None,
                         _keep_result_forever: bool, incr_score: int | None, keep_in_progress: float | None) -> None:
        """arq's `finish_job`, only while this worker's claim still holds the job's lease (`jobs.worker.leases`).

        No result is kept (keep_result 0: results live in the job's own key), so the result arguments are unused.
        The job's queue is the one it was claimed from.
        """
        context = worker_context(self.ctx)
        await finish_held_job(self.pool, context.env.queue.keys, job_id, self.queue_of(job_id),
                              holder=context.env.worker_name, fence=context.fences.get(job_id, 0), finish=finish,
                              incr_score=incr_score, keep_in_progress=keep_in_progress)

    async def finish_failed_job(self, job_id: str, _result_data: bytes | None) -> None:
        """arq's `finish_failed_job` (a job it would not start: aborted before its start, out of tries), in the
        job's own queue and, like `finish_job`, only while this worker's claim holds the lease."""
        await self.finish_job(job_id, True, None, None, False, None, None)

    def queue_of(self, job_id: str) -> str:
        """The queue this worker claimed the job from (the shared one for a job it did not claim)."""
        claim = self._claims.get(job_id)
        return claim.queue if claim is not None else self.queue_name

    def handle_sig(self, signum: signal.Signals) -> None:
        """SIGTERM and SIGINT drain (a second one ends the drain now); any other signal is arq's stop."""
        if signum not in (signal.SIGTERM, signal.SIGINT) or not has_worker_context(self.ctx):
            super().handle_sig(signum)
        elif self._drain is None:
            logger.info("%s: draining; %d running jobs get up to %g s", signal.Signals(signum).name,
                        sum(not task.done() for task in self.tasks.values()), self.drain_s)
            self.allow_pick_jobs = False
            self._drain = self.loop.create_task(self._drain_then_stop(), name="drain")
        else:
            self._drain_now.set()

    async def _drain_then_stop(self) -> None:
        env = worker_context(self.ctx).env
        with contextlib.suppress(Exception):
            await leave(self.pool, env.queue.keys, env.worker_name)
        running = [task for task in self.tasks.values() if not task.done()]
        if running:
            finished = asyncio.ensure_future(asyncio.wait(running))  # waits; cancels nothing
            signalled = asyncio.ensure_future(self._drain_now.wait())
            await asyncio.wait((finished, signalled), timeout=self.drain_s, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            signalled.cancel()
        left = {job_id: task for job_id, task in self.tasks.items() if not task.done()}
        for job_id, task in left.items():
            function = self.job_tasks.get(job_id)
            if function is not None and not function.done():
                # arq then runs `_job_end` (the requeue), frees the lease and keeps the job queued.
                self._requeuing.add(job_id)
                function.cancel()
            else:
                # Not in its function yet (or no longer): arq's stop; its lease lapses on its own.
                task.cancel()
        if left:
            await asyncio.wait(left.values())
            with contextlib.suppress(Exception):
                await self.pool.publish(self.wake_channel, b"job")  # the others claim them now
            logger.info("drain over: %d jobs requeued", len(left))
        if self.main_task is not None:
            self.main_task.cancel()

    async def _job_end(self, ctx: dict[str, Any]) -> None:
        if ctx["job_id"] in self._requeuing:
            self._requeuing.discard(ctx["job_id"])
            context = worker_context(self.ctx)
            try:
                await requeue_drained(context.env, ctx["job_id"], context.fences.get(ctx["job_id"], 0))
            except Exception:
                logger.warning("requeue of %s after the drain failed; it runs again all the same",
                               ctx["job_id"], exc_info=True)
        if self._on_job_end is not None:
            await self._on_job_end(ctx)

    async def close(self) -> None:
        """arq's `Worker.close`, leaving the live-workers set, with redis-py 5's `aclose`."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(Exception):
            if has_worker_context(self.ctx):
                env = worker_context(self.ctx).env
                await leave(self.pool, env.queue.keys, env.worker_name)
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)
        self._pool = None

    async def main(self) -> None:
        """arq's `Worker.main`, with the poll sleep replaced by a wait for a wake."""
        assert self._pool is not None, "InstantWorker is built with its redis_pool"
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        env = worker_context(self.ctx).env
        with contextlib.suppress(Exception):  # live from the start: a crawl submitted now spreads to it too
            await heartbeat(self.pool, env.queue.keys, WorkerCard(env.worker_name, kinds=list(self.kinds)))
        logger.info("worker %s ready for: %s (kinds: %s)", worker_context(self.ctx).env.worker_name,
                    ", ".join(self.functions), ", ".join(self.kinds))
        tasks = []
        if not self.burst:  # a burst worker leaves schedules to the workers that stay
            self.schedule_ticker = ScheduleTicker(self.pool, env.queue)
            tasks.append(asyncio.create_task(self.schedule_ticker.run_forever(), name="schedule-ticker"))
        tasks += [asyncio.create_task(self._listen_for_wake(), name="wake-listener"),
                  asyncio.create_task(self._heartbeat_forever(), name="heartbeat")]
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
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _promote_scheduled(self) -> int | None:
        env = worker_context(self.ctx).env
        _moved, next_at = await promote_due(
            self.pool, env.queue.keys, now_ms=now_ms(), step_ms=env.queue.priority_step_ms
        )
        return next_at

    async def run_job(self, job_id: str, score: int) -> None:
        """arq's `run_job`, for a payload that passed its checks (`jobs.worker.poison` ends the others).

        Every line logged while it runs names the job (`jobs.logs`).
        """
        current_job_id.set(job_of(job_id))
        if not await self.poison.rejects(worker_context(self.ctx), job_id, self.queue_of(job_id)):
            await super().run_job(job_id, score)

    async def _burst_done(self) -> bool:
        if (0 <= self.max_burst_jobs <= self._jobs_started()
                or await waiting_in(self.pool, worker_context(self.ctx).env.queue.keys, self.lanes) == 0):
            await asyncio.gather(*self.tasks.values())
            return True
        return False


# A job's arq id: `<id>`, a re-run's `<id>.<n>`, a webhook delivery's `wh-<id>-<event id>`, a crawl part's
# `cp-<id>-<n>`; the cron's has no job.
_JOB_OF_ARQ_ID = re.compile(r"(?:wh-|cp-)?([0-9a-f]{32})\b")


def job_of(arq_id: str) -> str | None:
    """The job an arq job runs for; None for the cleanup cron."""
    found = _JOB_OF_ARQ_ID.match(arq_id)
    return found[1] if found else None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_options(settings: Settings) -> dict[str, Any]:
    """arq `Worker` options for these settings: job functions, cron, startup and shutdown."""
    name = worker_name()

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx[CONTEXT_KEY] = open_worker_context(settings, ctx["redis"], worker_name=name)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        if has_worker_context(ctx):
            await worker_context(ctx).aclose()

    return {
        # max_tries: our own attempt count decides when to stop (`max_attempts`).
        "functions": [
            *(func(function, name=kind, timeout=settings.max_job_timeout_s + 30, max_tries=1_000)
              for kind, function in JOB_FUNCTIONS.items()),
            func(crawl_part, name=PART_FUNCTION, timeout=settings.max_job_timeout_s + 30, max_tries=1_000),
            func(deliver, name=WEBHOOK_FUNCTION, max_tries=MAX_DELIVERY_ATTEMPTS, timeout=DELIVERY_TIMEOUT_S + 15),
        ],
        "queue_name": Keyspace(settings.key_prefix).arq_queue(),
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "max_jobs": settings.worker_concurrency,
        "poll_delay": settings.worker_poll_s,
        "keep_result": 0,  # results live in our own key, with the job's retention
        "allow_abort_jobs": True,
        "job_serializer": serialize_job,
        "job_deserializer": deserialize_job,
        # Every 10 minutes, one worker (arq makes the run unique) prunes what expiry leaves behind.
        "cron_jobs": [cron(cleanup, name="cleanup", minute=set(range(0, 60, 10)), second=17,
                           run_at_startup=False, timeout=600)],
    }


def build_worker(settings: Settings, *, redis: ArqRedis | None = None, **overrides: Any) -> InstantWorker:
    """A ready-to-run worker for these settings (tests pass overrides such as burst)."""
    # Blocking: past the cap, a command waits for a connection instead of failing.
    # One more than the setting: the wake subscription holds one for good.
    pool = redis or settings.redis_target.client(
        max_connections=settings.redis_max_connections + 1, wait_s=30, redis_class=ArqRedis
    )
    pool.job_serializer = serialize_job
    pool.job_deserializer = deserialize_job
    options = worker_options(settings)
    options.update(
        redis_pool=pool,
        wake_channel=Keyspace(settings.key_prefix).wake_channel(),
        lease_s=settings.worker_lease_s,
        drain_s=settings.worker_drain_s,
        kinds=settings.worker_kind_list,
    )
    options.update(overrides)
    return InstantWorker(**options)


def run_worker(settings: Settings | None = None, *, concurrency: int | None = None, burst: bool = False,
               kinds: tuple[str, ...] | None = None) -> None:
    """Entry point of the `worker:` process: `concurrency` jobs at once (else WORKER_CONCURRENCY) of `kinds`
    (else WORKER_KINDS); `burst` returns once its queues are empty (what is scheduled for later is left for
    other workers)."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_format)
    max_jobs = concurrency or settings.worker_concurrency
    kinds = kinds or settings.worker_kind_list
    logger.info("up to %d jobs at once, of kinds %s%s", max_jobs, ", ".join(kinds),
                "; burst: exits once its queues are empty" if burst else "")

    async def main() -> None:
        worker = build_worker(settings, max_jobs=max_jobs, burst=burst, kinds=kinds)
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


ARQ_CLI_GONE = (
    "`arq jobs.worker.runner.WorkerSettings` is gone: arq's own Worker takes one queue, and Scrapestream has "
    "one per job kind (plus a shared one). Run `scrapestream worker` (`--kinds` to take only some kinds)."
)


def __getattr__(name: str) -> Any:
    """`WorkerSettings`, which arq's CLI (`arq jobs.worker.runner.WorkerSettings`) once ran: a clear error now.

    arq's own Worker takes one queue; jobs now wait in one queue per kind, which it would never look at.
    """
    if name != "WorkerSettings":
        raise AttributeError(name)
    raise RuntimeError(ARQ_CLI_GONE)
