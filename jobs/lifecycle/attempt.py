"""One attempt of one job, told top to bottom: started → phases → a terminal event or a retry.

Every job coroutine runs inside `run_attempt`, which owns the job's state
transitions. All writes go through `streams.publish.append_events`, which
refuses to append once the stream is sealed by a terminal event; so when an
append is refused, someone else (a cancel) has ended the job and the attempt
stops where it is.

Every write also carries the attempt's fence (the number its claim took,
`jobs.queue.claim`): once a newer claim has taken the job over (this worker
stalled past its lease), the script refuses it and writes nothing, and the
attempt stops just the same. What an attempt stores besides events (pages, the
result, counters) rides in that same script, so it is refused with them.

Events that happen back to back (`started` and the first phases; the last
phases and `completed`) are published together, in one round trip: each keeps
its own timestamp and its place in the stream.

A transient failure with attempts left publishes `retrying` (attempt, delay,
code, message) and hands arq the delay; arq runs the job again after it, and
that attempt's `started` carries the next number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from jobs.errors import InternalError, JobCancelled, JobError, JobTimeout
from jobs.lifecycle.retry_policy import retry_delay_s, should_retry
from jobs.lifecycle.submit import QueueConfig
from jobs.models import JobStatus, WebhookSpec
from jobs.queue.claim import FENCE_FIELD
from jobs.queue.enqueue import arq_job_commands, queue_commands
from jobs.queue.history import count_commands
from jobs.queue.scores import queue_score
from jobs.store.records import SCHEDULE_FIELD, iso_now
from streams.events import EventType
from streams.publish import Fence, PendingEvent, Superseded, ThenCommand, append_events

logger = logging.getLogger("scrapestream.jobs")

WEBHOOK_FUNCTION = "webhook"


@dataclass(frozen=True, slots=True)
class AttemptLimits:
    """The worker's bounds on a job's attempts: how long each may run, how many, and the wait between them."""

    default_timeout_s: float
    max_timeout_s: float
    max_attempts: int = 5
    retry_base_s: float = 1.0
    retry_max_delay_s: float = 60.0

    def timeout_s(self, request: dict[str, Any]) -> float:
        """What the job asked for, at most the maximum; else a scrape gets the default, and a crawl,
        batch or ask (which may need long) the maximum."""
        default_s = self.default_timeout_s if request.get("type", "scrape") == "scrape" else self.max_timeout_s
        return min(float(request.get("timeout_s") or default_s), self.max_timeout_s)

    def count(self, request: dict[str, Any]) -> int:
        """The attempts in all the job asked for (1 unless it says), at most the maximum."""
        return min(int(request.get("max_attempts") or 1), self.max_attempts)

    def retry_delay_s(self, attempt: int) -> float:
        return retry_delay_s(attempt, base_s=self.retry_base_s, cap_s=self.retry_max_delay_s)


@dataclass(frozen=True, slots=True)
class JobEnv:
    """What every attempt needs from its worker: Redis, the queue's keys and limits, its bounds."""

    redis: Redis
    queue: QueueConfig
    worker_name: str
    attempt_limits: AttemptLimits


@dataclass(frozen=True, slots=True)
class RetryLater:
    """The attempt failed transiently; run the job again after `delay_s`."""

    delay_s: float


def queue_webhooks(
    pipe: Any, queue: QueueConfig, job_id: str, spec: WebhookSpec, delivered: Sequence[tuple[str, PendingEvent]],
) -> bool:
    """Queue one delivery job per published event the webhook asked for; False if none.

    Deliveries run at the highest priority, in the order of their events.
    """
    wanted = [(entry_id, event) for entry_id, event in delivered if spec.wants(event.type)]
    for entry_id, event in wanted:
        args = (job_id, entry_id, event.type, orjson.loads(event.data), spec.url, spec.secret)
        queue_commands(pipe, arq_job_commands(
            queue.keys, WEBHOOK_FUNCTION, f"wh-{job_id}-{entry_id}", args, kind=None,
            score_ms=queue_score(int(entry_id.split("-")[0]), 9, queue.priority_step_ms),
            ttl_s=queue.limits.ttl_s, wake=True,
        ))
    return bool(wanted)


@dataclass(slots=True)
class JobRun:
    """The handle a job coroutine reports through."""

    env: JobEnv
    job_id: str
    attempt: int
    webhook: WebhookSpec | None = None
    # The number this attempt's claim took; None only for a worker that claims through arq's own loop.
    fence: int | None = None
    # Who submitted the job: its lifecycle events are echoed to that owner's activity stream.
    owner: str | None = None
    # The schedule this job is a run of (its payload's `schedule`, `SCHEDULE_FIELD`); None for a job of its own.
    schedule_id: str | None = None
    _percent: int = 0
    # Events, and commands, waiting to ride along with the next publish.
    _outbox: list[PendingEvent] = field(default_factory=list)
    _commands: list[ThenCommand] = field(default_factory=list)

    def with_next_publish(self, *commands: ThenCommand) -> None:
        """Run `commands` in the next publish's script: they happen only if it does (fenced like it)."""
        self._commands.extend(commands)

    def page_event(self, data: dict[str, Any], state: dict[str, Any] | None = None) -> PendingEvent:
        """A `page` event, naming the attempt and worker that did the page."""
        return PendingEvent.make(EventType.PAGE, {**data, "attempt": self.attempt, "worker": self.env.worker_name},
                                 state)

    async def publish(
        self,
        event_type: str,
        data: dict[str, Any],
        state: dict[str, Any] | None = None,
        *,
        attach: Sequence[tuple[str, bytes]] = (),
        then: Sequence[ThenCommand] = (),
        defer: bool = False,
    ) -> None:
        """Publish an event (with whatever was deferred before it), or defer it."""
        self._outbox.append(PendingEvent.make(event_type, data, state))
        if defer:
            return
        await self.publish_events(attach=attach, then=then)

    async def publish_events(
        self, *events: PendingEvent, attach: Sequence[tuple[str, bytes]] = (), then: Sequence[ThenCommand] = ()
    ) -> None:
        """Publish what was deferred, then `events`, with `attach` and `then` (e.g. a page), in one fenced script.

        JobCancelled if refused: the job was ended, or a newer attempt owns it.
        """
        events = (*self._outbox, *events)
        then = (*self._commands, *then)
        self._outbox, self._commands = [], []
        fence = None if self.fence is None else Fence(FENCE_FIELD, self.fence)
        redis, queue = self.env.redis, self.env.queue
        try:
            ids = await append_events(
                redis,
                queue.keys.events(self.job_id),
                queue.keys.record(self.job_id),
                events,
                attach=attach,
                then=then,
                fence=fence,
                activity=None if self.owner is None else queue.activity(self.owner),
                limits=queue.limits,
            )
        except Superseded as exc:
            raise JobCancelled(f"a newer attempt owns the job (lease lost: fence {self.fence} is stale)") from exc
        if ids is None:
            raise JobCancelled("the job was ended while it ran (cancelled or expired)")
        # Deliveries only for events the fenced script just appended: a stale attempt queues none.
        if self.webhook is not None:
            async with redis.pipeline(transaction=False) as pipe:
                if queue_webhooks(pipe, queue, self.job_id, self.webhook, list(zip(ids, events, strict=False))):
                    await pipe.execute()

    def set_percent(self, percent: int) -> int | None:
        """Raise the job's percent; the new value if it moved (worth a progress event), else None.

        Percent only rises: a client's progress bar never moves backwards.
        """
        percent = max(0, min(100, percent))
        if percent <= self._percent:
            return None
        self._percent = percent
        return percent

    async def progress(self, phase: str, percent: int, message: str, *, defer: bool = False) -> None:
        """A `progress` event; `defer` it when the next one follows within microseconds."""
        self.set_percent(percent)
        await self.publish(
            EventType.PROGRESS,
            {"phase": phase, "percent": self._percent, "message": message},
            {"phase": phase, "percent": self._percent},
            defer=defer,
        )

    async def page(self, url: str, status: int | None, title: str | None, **extra: Any) -> None:
        await self.publish_events(self.page_event({"url": url, "status": status, "title": title, **extra}))


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a job body hands back: the result JSON, a summary, and keys to store with it."""

    result: bytes
    summary: dict[str, Any]
    also_store: Sequence[tuple[str, bytes]] = ()


JobBody = Callable[[JobRun, dict[str, Any]], Awaitable[JobOutcome]]
"""A job kind: given the run and the request, returns its outcome."""


async def run_attempt(
    env: JobEnv, job_id: str, request: dict[str, Any], attempt: int, body: JobBody, *, fence: int | None = None,
    owner: str | None = None,
) -> str | RetryLater:
    """Run one attempt, writing under `fence`; returns the final status, or RetryLater. Never raises a job's failure.

    `started` is deferred to ride with the job's first progress event: if the
    job was cancelled while queued, that publish is refused before the job has
    done anything with an effect (validation has none).
    """
    webhook = WebhookSpec.model_validate(request["webhook"]) if request.get("webhook") else None
    # A schedule's run carries its schedule beside the request's fields; the job kinds get the request alone.
    schedule_id = request.get(SCHEDULE_FIELD)
    request = {name: value for name, value in request.items() if name != SCHEDULE_FIELD}
    run = JobRun(env, job_id, attempt, webhook, fence, owner, schedule_id)
    await run.publish(
        EventType.STARTED,
        {"attempt": attempt, "worker": env.worker_name},
        {"status": JobStatus.RUNNING, "attempt": attempt, "started_at": iso_now(),
         "worker": env.worker_name, "phase": "validate"},
        defer=True,
    )
    timeout_s = env.attempt_limits.timeout_s(request)
    try:
        try:
            async with asyncio.timeout(timeout_s):
                outcome = await body(run, request)
        except TimeoutError as exc:
            raise JobTimeout(f"the job did not finish within {timeout_s:g} s") from exc
        await run.publish(
            EventType.COMPLETED,
            {"summary": outcome.summary, "result_url": f"/jobs/{job_id}/result"},
            {"status": JobStatus.COMPLETED, "phase": "store", "percent": 100, "finished_at": iso_now()},
            attach=[(env.queue.keys.result(job_id), outcome.result), *outcome.also_store],
            then=[ThenCommand("HINCRBY", env.queue.keys.stats(), ("completed", 1)),
                  *count_commands(env.queue.keys, "completed")],
        )
        return JobStatus.COMPLETED
    except JobCancelled as exc:
        logger.info("job %s, attempt %s stops: %s", job_id, attempt, exc)
        return JobStatus.CANCELLED
    except JobError as exc:
        if should_retry(exc, attempt, env.attempt_limits.count(request)):
            return await _retry_later(run, exc)
        await _fail(run, exc)
        return JobStatus.FAILED
    except asyncio.CancelledError:
        # A cancel already sealed the stream; a worker shutdown leaves the job
        # queued and arq runs it again. Either way there is nothing to write.
        raise
    except Exception as exc:
        # A bug, not a page: keep the worker serving and tell the client plainly.
        logger.exception("job %s failed unexpectedly", job_id)
        await _fail(run, InternalError(f"unexpected {type(exc).__name__}: {exc}"[:500]))
        return JobStatus.FAILED


async def _retry_later(run: JobRun, exc: JobError) -> str | RetryLater:
    delay = run.env.attempt_limits.retry_delay_s(run.attempt)
    error = exc.to_dict()
    try:
        await run.publish(
            EventType.RETRYING,
            {"attempt": run.attempt, "delay_s": delay, **error},
            {"status": JobStatus.RETRYING, "error": orjson.dumps(error)},
        )
    except JobCancelled:
        return JobStatus.CANCELLED
    return RetryLater(delay)


async def _fail(run: JobRun, exc: JobError) -> None:
    await publish_failure(run, exc, then=count_commands(run.env.queue.keys, "failed"))


async def publish_failure(run: JobRun, exc: JobError, *, then: Sequence[ThenCommand] = ()) -> None:
    """End the job as failed, counted in the stats, with `then` in the same script.

    Under the run's fence, as any attempt writes: refused (silently) when the job has
    ended already (sealed: its one terminal event is there) or a newer claim owns it.
    """
    error = exc.to_dict()
    # Whatever was deferred (e.g. `started`) goes out first, then the failure.
    with contextlib.suppress(JobCancelled):
        await run.publish(
            EventType.FAILED,
            error,
            {"status": JobStatus.FAILED, "finished_at": iso_now(), "error": orjson.dumps(error)},
            then=[ThenCommand("HINCRBY", run.env.queue.keys.stats(), ("failed", 1)), *then],
        )
