"""`jobs --follow`: the job table kept current from the activity stream (`GET /events`), until Ctrl-C.

On a terminal, a rich Live table: new jobs appear at the top, a row changes
in place as its job runs and ends, and the title holds the `/queue` numbers
of the latest `queue` event. Otherwise (a pipe, or `--json`), one JSON object
per activity event a line, flushed, in the shape of `events --follow --json`.
The filters apply to live rows too: a row is shown while its job matches.
The SDK resumes the stream with Last-Event-ID across a web restart.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import ValidationError

from jobs.models import JobRecord, JobStatus
from service.client import EventStreamLost, JobEvent, QueueStats, ScrapestreamError

from .exit_codes import ExitCode
from .job_table import job_table
from .output import stdout_console, write_json_line
from .reading import current_jobs, event_json
from .session import Session

if TYPE_CHECKING:
    from rich.table import Table

QUEUE_EVENT = "queue"

# Where a status lies on a job's way, for telling an event older than the listing (see `JobBoard.apply`).
_STAGE = {JobStatus.RUNNING: 1, JobStatus.RETRYING: 2,
          JobStatus.COMPLETED: 3, JobStatus.FAILED: 3, JobStatus.CANCELLED: 3}


@dataclass(frozen=True)
class JobFilter:
    """`--status`, `--type`, `--url` as the server's listing applies them (`--url`: contains, any case)."""

    status: str | None
    type: str | None
    url_contains: str | None

    def matches(self, record: JobRecord) -> bool:
        if self.status is not None and record.status.value != self.status:
            return False
        if self.type is not None and record.type != self.type:
            return False
        if self.url_contains:
            wanted = self.url_contains.casefold()
            return any(wanted in url.casefold() for url in (record.url, *(record.urls or ())) if url)
        return True


@dataclass
class JobBoard:
    """The rows of the live table, newest first, and the latest queue numbers; rendered at each refresh
    (so a running job's duration moves between events)."""

    wanted: JobFilter
    limit: int
    rows: dict[str, JobRecord] = field(default_factory=dict)
    queue: QueueStats | None = None

    def apply(self, record: JobRecord, *, maybe_stale: bool = False) -> None:
        """Show the job as `record` says; drop its row once it no longer matches the filters.

        `maybe_stale`: the event came while the listing was being read, so the listed row
        may be newer than it; it is applied only if it is not behind that row.
        """
        shown = self.rows.get(record.id)
        if maybe_stale and shown is not None and _progress_key(record) < _progress_key(shown):
            return
        if not self.wanted.matches(record):
            self.rows.pop(record.id, None)
            return
        self.rows[record.id] = record
        if shown is None:
            newest_first = sorted(self.rows.values(), key=lambda row: row.created_at, reverse=True)
            self.rows = {row.id: row for row in newest_first[:self.limit]}

    def __rich__(self) -> Table:
        return job_table(self.rows.values(), title=_queue_line(self.queue))


async def follow_jobs(session: Session, args: argparse.Namespace) -> ExitCode:
    wanted = JobFilter(args.status, args.type, args.url_contains)
    try:
        if args.json or not sys.stdout.isatty():
            await _print_json_lines(session, wanted)
        else:
            await _show_live_table(session, args, wanted)
    except EventStreamLost as exc:
        print(f"lost the connection to {session.client.base_url} while following your jobs "
              f"({exc}); follow them again: scrapestream jobs --follow", file=sys.stderr, flush=True)
        return ExitCode.USAGE
    return ExitCode.COMPLETED  # never reached but by an error: the stream has no end


async def _print_json_lines(session: Session, wanted: JobFilter) -> None:
    activity = session.client.activity()
    async with contextlib.aclosing(activity):
        async for event in activity:
            record = _record_of(event)
            if record is None or wanted.matches(record):
                write_json_line(sys.stdout, event_json(event))


async def _show_live_table(session: Session, args: argparse.Namespace, wanted: JobFilter) -> None:
    from rich.live import Live

    board = JobBoard(wanted, args.limit)
    # Following starts before the listing is read, so no job is missed between the two.
    async with _activity_in_background(session) as events:
        board.queue = await session.client.queue()
        for record in reversed(await current_jobs(session, args)):
            board.apply(record)
        while_listing = events.qsize()
        with Live(board, console=stdout_console(), refresh_per_second=2, auto_refresh=True) as live:
            while True:
                event = await events.get()
                if isinstance(event, ScrapestreamError):
                    raise event
                if event.type == QUEUE_EVENT:
                    board.queue = _queue_numbers(event) or board.queue
                elif (changed := _record_of(event)) is not None:
                    board.apply(changed, maybe_stale=while_listing > 0)
                while_listing -= 1
                live.refresh()


@contextlib.asynccontextmanager
async def _activity_in_background(session: Session) -> AsyncIterator[asyncio.Queue[JobEvent | ScrapestreamError]]:
    """The activity stream read by a task into a queue (an error that ends it comes last)."""
    events: asyncio.Queue[JobEvent | ScrapestreamError] = asyncio.Queue()

    async def pump() -> None:
        try:
            activity = session.client.activity()
            async with contextlib.aclosing(activity):
                async for event in activity:
                    events.put_nowait(event)
        except ScrapestreamError as exc:
            events.put_nowait(exc)

    task = asyncio.create_task(pump(), name="jobs-follow-activity")
    try:
        yield events
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _record_of(event: JobEvent) -> JobRecord | None:
    """The job's record an activity event carries; None for `queue`, `resync` or anything unreadable."""
    if event.type == QUEUE_EVENT or event.id is None or not isinstance(event.data, dict):
        return None
    try:
        return JobRecord.model_validate(event.data)
    except ValidationError:
        return None


def _queue_numbers(event: JobEvent) -> QueueStats | None:
    try:
        return QueueStats.model_validate(event.data)
    except ValidationError:
        return None


def _progress_key(record: JobRecord) -> tuple[int, int, int]:
    return record.attempt, _STAGE.get(record.status, 0), record.percent


def _queue_line(numbers: QueueStats | None) -> str | None:
    if numbers is None:
        return None
    return (f"queued {numbers.queued.total}  scheduled {numbers.scheduled}  running {numbers.running}  "
            f"workers {numbers.workers}  ·  completed {numbers.completed}  failed {numbers.failed}  "
            f"cancelled {numbers.cancelled}")
