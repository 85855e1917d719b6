"""The job table people read: one row a job (`jobs`, and the live one of `jobs --follow`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from jobs.models import JobRecord, JobStatus

from .output import duration, when

if TYPE_CHECKING:
    from rich.table import Table
    from rich.text import Text

COLUMNS = ("id", "type", "status", "URL", "progress", "attempt", "created", "duration")


def asked(record: JobRecord) -> str:
    """What the job was asked about, in one cell: the page or site, a batch's count, an ask's crawl."""
    if record.urls_count is not None:
        first = f": {record.urls[0]}" + (", …" if record.urls_count > 1 else "") if record.urls else ""
        return f"{record.urls_count} URLs{first}"
    if record.url is None and record.job is not None:
        return f"job {record.job}"
    return record.url or ""


def progress_cell(record: JobRecord) -> str:
    if record.status is JobStatus.COMPLETED:
        return "100%"
    return f"{record.percent}% {record.phase or ''}".strip()


def status_text(value: JobStatus) -> Text:
    from rich.text import Text

    colors = {JobStatus.COMPLETED: "green", JobStatus.FAILED: "red", JobStatus.CANCELLED: "yellow",
              JobStatus.RUNNING: "cyan", JobStatus.RETRYING: "magenta"}
    return Text(value.value, style=colors.get(value, ""))


def job_table(records: Iterable[JobRecord], *, title: str | None = None) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(*COLUMNS, title=title, title_justify="left", box=None, header_style="bold", pad_edge=False)
    for record in records:
        # Text, not str: a URL holding "[b]" is not markup.
        table.add_row(Text(record.id), record.type, status_text(record.status), Text(asked(record)),
                      progress_cell(record), str(record.attempt), when(record.created_at),
                      duration(record.started_at, record.finished_at))
    return table
