"""`jobs`, `status`, `events`, `result`: what a job is, what happened to it, what it made."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING

from jobs.models import JobRecord, JobStatus
from service.client import JobCancelled, JobEvent, JobFailed

from .exit_codes import ExitCode, UsageError, follow_again_hint
from .job_table import asked, job_table, progress_cell, status_text
from .output import duration, json_lines, json_text, stdout_console, when, write_document, write_json_line
from .progress import describe
from .session import Session

if TYPE_CHECKING:
    from rich.text import Text

_EXIT_BY_END = {"completed": ExitCode.COMPLETED, "failed": ExitCode.FAILED, "cancelled": ExitCode.CANCELLED}


async def jobs(session: Session, args: argparse.Namespace) -> ExitCode:
    """The newest jobs (filtered); with --follow, kept current from the activity stream until Ctrl-C."""
    if args.follow:
        from .live_jobs import follow_jobs

        return await follow_jobs(session, args)
    found = await current_jobs(session, args)
    if args.json:
        print(json_text([record.model_dump(mode="json") for record in found]))
        return ExitCode.COMPLETED
    if not found:
        print("no jobs", file=sys.stderr)
        return ExitCode.COMPLETED
    stdout_console().print(job_table(found))
    return ExitCode.COMPLETED


async def current_jobs(session: Session, args: argparse.Namespace) -> list[JobRecord]:
    """The newest `--limit` jobs that match `--status`, `--type` and `--url`."""
    found: list[JobRecord] = []
    listing = session.client.jobs(status=args.status, type=args.type, url=args.url_contains,
                                  limit=min(args.limit, 100))
    async with contextlib.aclosing(listing):
        async for record in listing:
            found.append(record)
            if len(found) >= args.limit:
                break
    return found


async def status(session: Session, args: argparse.Namespace) -> ExitCode:
    record = await session.client.get(args.job_id)
    if args.json:
        print(json_text(record.model_dump(mode="json")))
        return ExitCode.COMPLETED
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows: list[tuple[str, str | Text]] = [
        ("id", record.id), ("type", record.type), ("status", status_text(record.status)),
        ("asked", Text(asked(record))),
    ]
    if record.questions:
        rows.append(("questions", Text(" | ".join(record.questions))))
    rows += [
        ("progress", progress_cell(record)), ("attempt", str(record.attempt)),
        ("created", when(record.created_at)), ("started", when(record.started_at)),
        ("finished", when(record.finished_at)), ("duration", duration(record.started_at, record.finished_at)),
    ]
    if record.error is not None:
        rows.append(("error", Text(f"{record.error.code}: {record.error.message}")))
    if record.options:
        rows.append(("options", Text(json_text(record.options, indent=None))))
    for name, value in rows:
        table.add_row(name, value)
    stdout_console().print(table)
    return ExitCode.COMPLETED


async def events(session: Session, args: argparse.Namespace) -> ExitCode:
    """The history so far; with --follow, live to the end (exiting as the job ended: 0, 1 or 3)."""
    if not args.follow:
        history = await session.client.history(args.job_id, args.after)
        if args.json:
            print(json_text([event_json(event) for event in history]))
        else:
            for event in history:
                _print_event(event)
        return ExitCode.COMPLETED
    session.job_id = args.job_id
    end: JobEvent | None = None
    stream = session.client.events(args.job_id, args.after)
    async with contextlib.aclosing(stream):
        async for event in stream:
            if args.json:
                write_json_line(sys.stdout, event_json(event))
            else:
                _print_event(event)
            end = event if event.is_terminal else end
    if end is None:  # the stream had ended before `--after`: ask the record how
        record = await session.client.get(args.job_id)
        return _EXIT_BY_END.get(record.status.value, ExitCode.COMPLETED)
    return _EXIT_BY_END.get(end.type, ExitCode.COMPLETED)


async def result(session: Session, args: argparse.Namespace) -> ExitCode:
    """A scrape's or ask's document; a crawl's or batch's pages as JSON lines (all of them)."""
    record = await session.client.get(args.job_id)
    if record.type not in ("crawl", "batch"):
        write_document(await session.client.result(args.job_id), args.output)
        return ExitCode.COMPLETED
    if record.status is JobStatus.FAILED:
        raise JobFailed(record)
    if record.status is JobStatus.CANCELLED:
        raise JobCancelled(record)
    if record.status is not JobStatus.COMPLETED:
        raise UsageError(f"not_completed: job {record.id} is {record.status.value}; "
                         f"follow it with `{follow_again_hint(record.id)}`")
    with json_lines(args.output) as out:
        pages = session.client.pages(args.job_id)
        async with contextlib.aclosing(pages):
            async for page in pages:
                write_json_line(out, page.as_json())
    return ExitCode.COMPLETED


def event_json(event: JobEvent) -> dict[str, object]:
    # The shape of GET /jobs/{id}/events?format=json.
    return {"id": event.id, "type": str(event.type), "data": event.data}


def _print_event(event: JobEvent) -> None:
    print(f"{event.id or '-':<16} {event.type:<9} {describe(event)}".rstrip(), flush=True)
