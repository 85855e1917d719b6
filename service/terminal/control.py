"""`cancel` and `retry`: stop a job, or run failed and cancelled ones again."""

from __future__ import annotations

import argparse
import sys

from .exit_codes import ExitCode, UsageError
from .output import json_text
from .session import Session


async def cancel(session: Session, args: argparse.Namespace) -> ExitCode:
    record = await session.client.cancel(args.job_id)
    if args.json:
        print(json_text(record.model_dump(mode="json")))
    else:
        # A running job stops at its next step: the record may still say running for a moment.
        print(f"cancel requested: job {record.id} is {record.status.value}")
    return ExitCode.COMPLETED


async def retry(session: Session, args: argparse.Namespace) -> ExitCode:
    if args.failed == bool(args.job_ids):
        raise UsageError("retry takes job ids, or --failed (every failed job of yours), not both")
    if args.type is not None and not args.failed:
        raise UsageError("--type goes with --failed")
    if args.failed:
        retried = await session.client.retry_failed(type=args.type)
    else:
        retried = [(await session.client.retry(job_id)).id for job_id in args.job_ids]
    if args.json:
        print(json_text(retried))
    elif not retried:
        print("no failed jobs to retry", file=sys.stderr)
    else:
        for job_id in retried:
            print(f"retrying {job_id}")
    return ExitCode.COMPLETED
