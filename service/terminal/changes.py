"""`changes`: what a schedule's runs found new or changed, newest first, with their diffs."""

from __future__ import annotations

import argparse
import contextlib
import sys

from jobs.models import ChangeEntry

from .exit_codes import ExitCode
from .output import json_text, when
from .session import Session


async def changes(session: Session, args: argparse.Namespace) -> ExitCode:
    found: list[ChangeEntry] = []
    history = session.client.changes(args.schedule_id, limit=min(args.limit, 100))
    async with contextlib.aclosing(history):
        async for entry in history:
            found.append(entry)
            if len(found) >= args.limit:
                break
    if args.json:
        print(json_text([entry.model_dump(mode="json") for entry in found]))
        return ExitCode.COMPLETED
    if not found:
        print("no changes yet", file=sys.stderr)
    for entry in found:
        print(describe_change(entry))
    return ExitCode.COMPLETED


def describe_change(entry: ChangeEntry) -> str:
    """A change as a person reads it: when, what, where; each field's before → after; then the diff."""
    lines = [f"{when(entry.at)}  {entry.status:<7}  {entry.url}  (job {entry.job})"]
    lines += [f"  {name}: {value.get('before')} → {value.get('after')}" for name, value in entry.fields.items()]
    if entry.diff:
        lines += [f"  {line}" for line in entry.diff.splitlines()]
    return "\n".join(lines) + "\n"
