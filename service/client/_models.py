"""The operator's answers as the SDK reads them: `/queue`, `/workers`, `/health`.

Tolerant like the result documents: a newer server's extra fields are kept as
attributes, and a field it no longer sends takes its default.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from jobs.models import ResultDocument


class QueuedCounts(ResultDocument):
    total: int = 0
    by_priority: dict[str, int] = Field(default_factory=dict)
    webhooks: int = 0


class KindCounts(ResultDocument):
    """One job kind in `GET /queue`: its jobs waiting, running and waiting out a retry, and the live workers
    that take it."""

    queued: int = 0
    running: int = 0
    retrying: int = 0
    workers: int = 0


class QueueStats(ResultDocument):
    """`GET /queue`: how many jobs wait, run and ended, and how many workers are alive."""

    queued: QueuedCounts = Field(default_factory=QueuedCounts)
    # By job kind (scrape, crawl, batch, ask); empty from a server before worker pools per kind.
    kinds: dict[str, KindCounts] = Field(default_factory=dict)
    scheduled: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    cancelled: int = 0
    invalid_payloads: int = 0
    workers: int = 0


class RunningJob(ResultDocument):
    """A job a worker runs now: what it is and since when."""

    id: str
    type: str | None = None
    url: str | None = None
    started_at: datetime | None = None


class WorkerInfo(ResultDocument):
    """One live worker of `GET /workers`: who it is, and what it runs now."""

    name: str
    host: str | None = None
    pid: int | None = None
    started_at: datetime | None = None
    last_heartbeat: datetime | None = None
    # The job kinds it takes; None: every kind (a worker from before pools per kind).
    kinds: list[str] | None = None
    jobs: list[RunningJob] = Field(default_factory=list)
    finished: int = 0

    @property
    def running(self) -> list[str]:
        """The ids of the jobs it runs now."""
        return [job.id for job in self.jobs]


class Health(ResultDocument):
    """`GET /health`; `status` is "ok", or "unavailable" while Redis is unreachable."""

    status: str
    redis: str | None = None
    workers: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"
