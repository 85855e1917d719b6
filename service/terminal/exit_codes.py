"""What a job command's exit status says, and the one place where SDK errors become one.

    0    the job completed (or the request succeeded)
    1    the job failed                      stderr: `code: message`
    2    usage or request error              stderr: a 422's `field: message`, or `code: message`
    3    the job was cancelled
    130  interrupted (Ctrl-C); the job goes on, and stderr says how to follow it again
    141  stdout's reader went away (`| head -1`)
"""

from __future__ import annotations

import sys
from enum import IntEnum

from service.client import (
    APIError,
    EventStreamLost,
    InvalidRequest,
    JobCancelled,
    JobFailed,
    ScrapestreamError,
    TransportError,
)


class ExitCode(IntEnum):
    COMPLETED = 0
    FAILED = 1
    USAGE = 2
    CANCELLED = 3
    INTERRUPTED = 130  # 128 + SIGINT, as shells report it
    BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader left (`| head`)


class UsageError(Exception):
    """A command's arguments make no request the server could take (an empty batch file, say)."""


def follow_again_hint(job_id: str) -> str:
    return f"scrapestream events {job_id} --follow"


def report_error(exc: ScrapestreamError | UsageError, server: str) -> ExitCode:
    """Print what went wrong to stderr, one line a person can act on; the exit status it means."""
    if isinstance(exc, JobCancelled):
        _say(f"cancelled: {exc.message}")
        return ExitCode.CANCELLED
    if isinstance(exc, JobFailed):
        _say(f"{exc.code}: {exc.message}")
        return ExitCode.FAILED
    if isinstance(exc, InvalidRequest) and exc.field and not exc.message.startswith(f"{exc.field}:"):
        _say(f"{exc.field}: {exc.message}")
    elif isinstance(exc, InvalidRequest):
        _say(exc.message)
    elif isinstance(exc, APIError):
        _say(f"{exc.code}: {exc.message}")
    elif isinstance(exc, EventStreamLost):
        _say(f"lost the connection to {server} while following job {exc.job_id}; "
             f"follow it again: {follow_again_hint(exc.job_id)}")
    elif isinstance(exc, TransportError):
        _say(f"cannot reach {server}: {exc} (set SCRAPESTREAM_URL or --url)")
    else:
        _say(str(exc))
    return ExitCode.USAGE


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
