"""A job's progress on stderr while a command follows it: a live bar on a terminal, plain lines otherwise.

stdout carries only the result, so `scrapestream scrape URL > page.json` and
`| jq` see JSON alone while the person still watches the job.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Self

from service.client import JobEvent

from .output import stderr_console

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def describe(event: JobEvent) -> str:
    """One event as one line of words (its type is said apart)."""
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {"message": str(event.data)}
    match event.type:
        case "queued":
            position = data.get("position")
            return "" if position is None else f"position {position}"
        case "started":
            return f"attempt {data.get('attempt', '?')} on {data.get('worker', '?')}"
        case "progress":
            return f"{data.get('phase', '')} {data.get('percent', 0)}% {data.get('message', '')}".strip()
        case "page":
            error = data.get("error")
            title = f"{error.get('code')}: {error.get('message', '')}" if isinstance(error, dict) else data.get("title")
            return f"{data.get('status') or '-'} {data.get('url', '')} {title or ''}".strip()
        case "retrying":
            return (f"attempt {data.get('attempt', '?')} in {data.get('delay_s', '?')} s after "
                    f"{data.get('code', '?')}: {data.get('message', '')}")
        case "changed":
            change = data.get("change")
            fields = change.get("fields") if isinstance(change, dict) else None
            what = ", ".join(f"{name} {value.get('before')} → {value.get('after')}" for name, value in fields.items()
                             if isinstance(value, dict)) if isinstance(fields, dict) else ""
            return f"{data.get('url', '')} {what or 'its text changed'}".strip()
        case "completed":
            return str(data.get("result_url", ""))
        case "failed":
            return f"{data.get('code', '?')}: {data.get('message', '')}"
        case "cancelled":
            return f"by {data.get('by', '?')}"
        case "resync":
            record = data.get("record")
            status = record.get("status") if isinstance(record, dict) else None
            return f"older events expired; the job is {status or 'unknown'} now"
        case _:
            return str(data.get("message", ""))


class ProgressReport:
    """Shows each event of one job as it comes; `live` (default: stderr is a terminal) picks the bar."""

    def __init__(self, job_id: str, title: str, *, live: bool | None = None) -> None:
        self.job_id = job_id
        self.pages = 0
        self._live = sys.stderr.isatty() if live is None else live
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._title = title

    def __enter__(self) -> Self:
        if self._live:
            from rich.progress import (
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                TimeElapsedColumn(), console=stderr_console(), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(f"{self._title}: queued", total=100)
            self._progress.console.print(f"job {self.job_id}: {self._title}", markup=False)
        else:
            print(f"job {self.job_id}: {self._title}", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def show(self, event: JobEvent) -> None:
        self.pages += event.type == "page"
        if self._progress is None or self._task is None:
            print(f"{event.type:<9} {describe(event)}".rstrip(), file=sys.stderr, flush=True)
            return
        data = event.data if isinstance(event.data, dict) else {}
        if event.type == "page":
            # Pages scroll above the bar, as a log; the bar keeps the job's own progress.
            self._progress.console.print(f"page {describe(event)}", markup=False, highlight=False)
            self._progress.update(self._task, description=f"{self._title}: {self.pages} pages")
        elif event.type == "progress":
            self._progress.update(self._task, completed=float(data.get("percent") or 0),
                                  description=f"{self._title}: {data.get('phase', '')}")
        elif event.is_terminal:
            completed = 100.0 if event.type == "completed" else None
            self._progress.update(self._task, completed=completed, description=f"{self._title}: {event.type}")
        else:
            self._progress.update(self._task, description=f"{self._title}: {event.type}")
