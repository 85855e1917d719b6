"""`info` and `workers`: what the service does now, as `rq info` shows it (GET /queue, GET /workers)."""

from __future__ import annotations

import argparse
from typing import Any

from service.client import WorkerInfo

from .exit_codes import ExitCode
from .output import duration, json_text, stdout_console, when
from .session import Session


async def info(session: Session, args: argparse.Namespace) -> ExitCode:
    stats = await session.client.queue()
    workers = await session.client.workers()
    if args.json:
        print(json_text({"queue": stats.model_dump(mode="json"), "workers": _workers_json(workers)}))
        return ExitCode.COMPLETED
    from rich.table import Table

    console = stdout_console()
    counts = Table(box=None, show_header=False, pad_edge=False)
    counts.add_column(style="bold")
    counts.add_column(justify="right")
    counts.add_column()
    by_priority = sorted(stats.queued.by_priority.items(), key=lambda item: -int(item[0]))
    counts.add_row("queued", str(stats.queued.total),
                   ", ".join(f"priority {priority}: {count}" for priority, count in by_priority if count))
    counts.add_row("scheduled", str(stats.scheduled), "")
    counts.add_row("running", str(stats.running), "")
    retrying: Any = getattr(stats, "retrying", None)  # counted apart by newer servers
    if retrying is not None:
        counts.add_row("retrying", str(retrying), "")
    for outcome in ("completed", "failed", "cancelled"):
        counts.add_row(outcome, str(getattr(stats, outcome)), "")
    console.print(counts)
    console.print()
    if stats.kinds:  # a server from before worker pools per kind sends none
        by_kind = Table("kind", "queued", "running", "retrying", "workers", box=None, header_style="bold",
                        pad_edge=False)
        for kind, numbers in stats.kinds.items():
            by_kind.add_row(kind, str(numbers.queued), str(numbers.running), str(numbers.retrying),
                            str(numbers.workers))
        console.print(by_kind)
        console.print()
    _print_workers(workers)
    return ExitCode.COMPLETED


async def workers(session: Session, args: argparse.Namespace) -> ExitCode:
    live = await session.client.workers()
    if args.json:
        print(json_text(_workers_json(live)))
    else:
        _print_workers(live)
    return ExitCode.COMPLETED


def _workers_json(workers: list[WorkerInfo]) -> list[dict[str, Any]]:
    return [worker.model_dump(mode="json") for worker in workers]


def _print_workers(workers: list[WorkerInfo]) -> None:
    from rich.table import Table
    from rich.text import Text

    console = stdout_console()
    if not workers:
        console.print("no live workers")
        return
    table = Table("worker", "host", "pid", "up since", "heartbeat", "kinds", "finished", "running now",
                  title=f"{len(workers)} live worker{'s' if len(workers) > 1 else ''}", title_justify="left",
                  box=None, header_style="bold", pad_edge=False)
    for worker in workers:
        running = "\n".join(f"{job.id} {job.type or ''} {job.url or ''} "
                            f"({duration(job.started_at, None)})".replace("  ", " ")
                            for job in worker.jobs) or "idle"
        table.add_row(Text(worker.name), Text(worker.host or ""), str(worker.pid or ""), when(worker.started_at),
                      when(worker.last_heartbeat), ",".join(worker.kinds) if worker.kinds else "all",
                      str(worker.finished), Text(running))
    console.print(table)

