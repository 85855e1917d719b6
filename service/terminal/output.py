"""Where a command's answer goes: JSON for scripts, rich tables for people.

Tables go to a terminal in color, and plainly (no color, no width limit that
would cut ids and URLs) to a pipe or a file; rich also honours NO_COLOR.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

# A pipe has no width: wide enough that an id or a URL is never folded.
PIPE_WIDTH = 240


def json_text(value: Any, *, indent: int | None = 2) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


def write_document(value: Any, path: str | None) -> None:
    """A JSON document (a page, an answer, a record) to stdout, or into the file at `path`."""
    text = json_text(value) + "\n"
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        Path(path).write_text(text, encoding="utf-8")


@contextlib.contextmanager
def json_lines(path: str | None) -> Iterator[IO[str]]:
    """Where JSON lines go: stdout, or the file at `path` (created afresh)."""
    if path is None:
        yield sys.stdout
    else:
        with open(path, "w", encoding="utf-8") as file:
            yield file


def write_json_line(out: IO[str], value: Any) -> None:
    # Flushed per line: `tail -f` or a pipe sees each page as soon as it is done.
    out.write(json_text(value, indent=None) + "\n")
    out.flush()


def stdout_console() -> Console:
    from rich.console import Console

    terminal = sys.stdout.isatty()
    return Console(highlight=False, width=None if terminal else PIPE_WIDTH)


def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def when(value: datetime | None) -> str:
    """A timestamp as a person reads it: UTC, to the second."""
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from `start` to `end` (to now, while it runs): 0.4s, 12.3s, 4m05s, 2h03m."""
    if start is None:
        return ""
    seconds = ((end or datetime.now(UTC)) - start).total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
