"""How `scrapestream keys list` shows the keys: a table for a person, plain lines for a pipe."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from .apikeys import ApiKey


def print_keys(keys: Sequence[ApiKey], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if not keys:
        print("no keys", file=out)
    elif out.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table("id", "created", "name", title=f"{len(keys)} API key{'s' if len(keys) > 1 else ''}")
        for key in keys:
            # Text, not str: rich would read a name like "[red]ci" as markup.
            table.add_row(Text(key.id), Text(key.created_at), Text(key.name))
        Console(file=out).print(table)
    else:
        # One key a line, space-separated, as scripts (`cut`, `awk`) read it.
        for key in keys:
            print(f"{key.id}  {key.created_at}  {key.name}", file=out)
