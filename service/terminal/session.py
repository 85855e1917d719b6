"""One command's run: the SDK client it talks through, its exit status, and Ctrl-C.

Ctrl-C never cancels the job on the server (that is `scrapestream cancel`): the
command stops following it and says how to follow it again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable

from service.client import Client, RetryPolicy, ScrapestreamError

from .exit_codes import ExitCode, UsageError, follow_again_hint, report_error


class Session:
    """What a command shares with the runner: its client, and the job it follows (for the Ctrl-C hint)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.job_id: str | None = None


Command = Callable[[Session, argparse.Namespace], Awaitable[ExitCode]]


# A command that only asks something gives up on an unreachable server after a few seconds;
# one that follows a job keeps the SDK's patience (a minute), enough for a web process to restart.
QUICK_ANSWER = RetryPolicy(attempts=3, budget_s=10.0, base_s=0.5, cap_s=4.0)


def run_command(command: Command, args: argparse.Namespace) -> int:
    """Run one job command to its exit status."""
    session: Session | None = None
    follows = bool(getattr(args, "follows_job", False) or getattr(args, "follow", False))
    _show_reconnects()

    async def run() -> ExitCode:
        nonlocal session
        try:
            client = Client(args.server_url, args.api_key, retry=None if follows else QUICK_ANSWER)
        except ValueError as exc:  # not an http(s) URL
            print(f"--url: {exc}", file=sys.stderr)
            return ExitCode.USAGE
        async with client:
            session = Session(client)
            try:
                return await command(session, args)
            except (ScrapestreamError, UsageError) as exc:
                return report_error(exc, client.base_url)

    try:
        return asyncio.run(run())
    except BrokenPipeError:
        # The reader went away (`| head -1`): stop quietly, as `cat` does, without a traceback
        # from the flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.BROKEN_PIPE
    except KeyboardInterrupt:
        job_id = session.job_id if session is not None else None
        if job_id is None:
            print("interrupted", file=sys.stderr)
        else:
            print(f"\ninterrupted: job {job_id} goes on running on the server; follow it again with "
                  f"`{follow_again_hint(job_id)}`, or stop it with `scrapestream cancel {job_id}`",
                  file=sys.stderr)
        return ExitCode.INTERRUPTED


def _show_reconnects() -> None:
    """The SDK's notes on retries and reconnects ("…; resuming after … in 0.40 s") go to stderr as they
    happen: a person watching a stalled command sees why, and a script's stderr log keeps them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    sdk_log = logging.getLogger("scrapestream.client")
    sdk_log.addHandler(handler)
    sdk_log.setLevel(logging.INFO)
