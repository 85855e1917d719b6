"""`schedule add`, `list`, `pause`, `resume`, `rm`: a page scraped (or a site crawled) again and again, over HTTP."""

from __future__ import annotations

import argparse
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from jobs.schedules.models import Schedule

from .exit_codes import ExitCode
from .output import json_text, stdout_console, when

if TYPE_CHECKING:
    from rich.table import Table

    from .session import Session

_DURATION_PART = re.compile(r"([0-9]+)([smhd]?)")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86_400}


def parse_duration(text: str) -> int:
    """`90`, `90s`, `15m`, `1h`, `1d`, `1h30m` as seconds; ValueError for anything else."""
    parts = list(_DURATION_PART.finditer(text.strip()))
    if not parts or "".join(part[0] for part in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r} (e.g. 90s, 15m, 1h, 1d, 1h30m)")
    return sum(int(number) * _SECONDS[unit] for number, unit in (part.groups() for part in parts))


def cadence(schedule: Schedule) -> str:
    """How often, as a person says it: `every 1h`, `cron 0 9 * * 1-5 (Europe/Paris)`."""
    if schedule.every_s is not None:
        return f"every {_short(schedule.every_s)}"
    zone = f" ({schedule.timezone})" if schedule.timezone != "UTC" else ""
    return f"cron {schedule.cron}{zone}"


def _short(seconds: int) -> str:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def what(schedule: Schedule) -> str:
    job = schedule.job
    target = job.get("url") or (f"{len(job['urls'])} URLs" if job.get("urls") else job.get("job", ""))
    return f"{job.get('type', 'scrape')} {target}"


def _moment(iso: str | None) -> str:
    return when(datetime.fromisoformat(iso)) if iso else "—"


def schedule_table(schedules: list[Schedule]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table("id", "job", "cadence", "state", "next run", "runs", "last run", "last change", box=None,
                  header_style="bold", pad_edge=False)
    for schedule in schedules:
        last_run = schedule.last_run.scheduled_for if schedule.last_run else None
        last_change = schedule.last_change.get("at") if schedule.last_change else None
        # Text, not str: a URL holding "[b]" is not markup.
        table.add_row(Text(schedule.id), Text(what(schedule)), Text(cadence(schedule)),
                      "paused" if schedule.paused else "active",
                      _moment(schedule.next_runs[0] if schedule.next_runs else None), str(schedule.runs),
                      _moment(last_run), _moment(last_change))
    return table


def _say(schedule: Schedule, verb: str, args: argparse.Namespace) -> ExitCode:
    if args.json:
        print(json_text(schedule.model_dump(mode="json")))
    else:
        upcoming = f"; next run {_moment(schedule.next_runs[0])}" if schedule.next_runs else ""
        print(f"{verb} {schedule.id}: {what(schedule)} {cadence(schedule)}{upcoming}")
    return ExitCode.COMPLETED


async def add(session: Session, args: argparse.Namespace) -> ExitCode:
    job: dict[str, Any] = {"type": "crawl" if args.crawl else "scrape", "url": args.page_url}
    if args.formats is not None:
        job["formats"] = args.formats
    if args.limit is not None:
        job["limit"] = args.limit
    schedule = await session.client.schedules.create(job, every_s=args.every, cron=args.cron,
                                                     timezone=args.timezone, jitter_s=args.jitter)
    return _say(schedule, "scheduled", args)


async def list_schedules(session: Session, args: argparse.Namespace) -> ExitCode:
    schedules = [schedule async for schedule in session.client.schedules.list()]
    if args.json:
        print(json_text([schedule.model_dump(mode="json") for schedule in schedules]))
    elif schedules:
        stdout_console().print(schedule_table(schedules))
    else:
        print("no schedules (make one with `scrapestream schedule add --every 1h URL`)")
    return ExitCode.COMPLETED


async def pause(session: Session, args: argparse.Namespace) -> ExitCode:
    return _say(await session.client.schedules.pause(args.schedule_id), "paused", args)


async def resume(session: Session, args: argparse.Namespace) -> ExitCode:
    return _say(await session.client.schedules.resume(args.schedule_id), "resumed", args)


async def remove(session: Session, args: argparse.Namespace) -> ExitCode:
    for schedule_id in args.schedule_ids:
        await session.client.schedules.delete(schedule_id)
        print(f"deleted {schedule_id}")
    return ExitCode.COMPLETED
