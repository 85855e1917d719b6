"""One attempt of one job, told top to bottom: started → phases → one terminal event.

Every job coroutine runs inside `run_attempt`, which owns the job's state
transitions. All writes go through `streams.publish.append_event`, which
refuses to append once the stream is sealed by a terminal event; so when an
append is refused, someone else (a cancel) has ended the job and the attempt
stops where it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis

from streams.events import EventType
from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event

from .errors import InternalError, JobCancelled, JobError, JobTimeout
from .models import JobStatus
from .records import iso_now

logger = logging.getLogger("scrapestream.jobs")


@dataclass(frozen=True, slots=True)
class JobEnv:
    """What every attempt needs from its worker: Redis, key names, limits."""

    redis: Redis
    keys: Keyspace
    limits: StreamLimits
    worker_name: str
    default_timeout_s: float
    max_timeout_s: float


@dataclass(slots=True)
class JobRun:
    """The handle a job coroutine reports through."""

    env: JobEnv
    job_id: str
    attempt: int
    _percent: int = field(default=0)

    async def _append(
        self, event_type: str, data: dict[str, Any], state: dict[str, Any] | None = None,
        attach: tuple[str, bytes] | None = None,
    ) -> str:
        entry_id = await append_event(
            self.env.redis,
            self.env.keys.events(self.job_id),
            self.env.keys.record(self.job_id),
            event_type,
            data,
            state=state,
            attach=attach,
            limits=self.env.limits,
        )
        if entry_id is None:
            raise JobCancelled("the job was ended while it ran (cancelled or expired)")
        return entry_id

    async def progress(self, phase: str, percent: int, message: str) -> None:
        # Percent only rises: a client's progress bar never moves backwards.
        self._percent = max(self._percent, min(100, percent))
        await self._append(
            EventType.PROGRESS,
            {"phase": phase, "percent": self._percent, "message": message},
            {"phase": phase, "percent": self._percent},
        )

    async def page(self, url: str, status: int | None, title: str | None, **extra: Any) -> None:
        await self._append(EventType.PAGE, {"url": url, "status": status, "title": title, **extra})


JobBody = Callable[[JobRun, dict[str, Any]], Awaitable[tuple[bytes, dict[str, Any]]]]
"""A job kind: given the run and the request, returns (result JSON, summary)."""


async def run_attempt(
    env: JobEnv, job_id: str, request: dict[str, Any], attempt: int, body: JobBody
) -> str:
    """Run one attempt; returns the final status. Never raises a job's failure to arq."""
    run = JobRun(env, job_id, attempt)
    try:
        await run._append(
            EventType.STARTED,
            {"attempt": attempt, "worker": env.worker_name},
            {"status": JobStatus.RUNNING, "attempt": attempt, "started_at": iso_now(),
             "worker": env.worker_name, "phase": "validate"},
        )
    except JobCancelled:
        logger.info("job %s was ended before it started; not running it", job_id)
        return JobStatus.CANCELLED

    timeout_s = min(float(request.get("timeout_s") or env.default_timeout_s), env.max_timeout_s)
    try:
        try:
            async with asyncio.timeout(timeout_s):
                result, summary = await body(run, request)
        except TimeoutError as exc:
            raise JobTimeout(f"the job did not finish within {timeout_s:g} s") from exc
        result_url = f"/jobs/{job_id}/result"
        await run._append(
            EventType.COMPLETED,
            {"summary": summary, "result_url": result_url},
            {"status": JobStatus.COMPLETED, "phase": "store", "percent": 100,
             "finished_at": iso_now()},
            attach=(env.keys.result(job_id), result),
        )
        return JobStatus.COMPLETED
    except JobCancelled:
        return JobStatus.CANCELLED
    except JobError as exc:
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


async def _fail(run: JobRun, exc: JobError) -> None:
    error = exc.to_dict()
    try:
        await run._append(
            EventType.FAILED,
            error,
            {"status": JobStatus.FAILED, "finished_at": iso_now(), "error": orjson.dumps(error)},
        )
    except JobCancelled:
        pass
