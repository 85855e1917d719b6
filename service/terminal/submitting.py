"""`scrape`, `crawl`, `batch`, `ask`: submit a job, follow it over SSE, print what it made.

Each follows the job's own event stream (no polling); the SDK reconnects with
Last-Event-ID, so a restart of the web process costs no event and no page.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from jobs.models import SubmitResponse

from .exit_codes import ExitCode, UsageError
from .output import json_lines, write_document, write_json_line
from .progress import ProgressReport
from .session import Session


async def scrape(session: Session, args: argparse.Namespace) -> ExitCode:
    extract = _extract_spec(args.schema, args.prompt)
    receipt = await session.client.scrape(
        args.page_url, formats=args.formats, priority=args.priority, extract=extract, wait=False
    )
    return await _follow_document(session, receipt, args, title=f"scrape {args.page_url}")


async def ask(session: Session, args: argparse.Namespace) -> ExitCode:
    receipt = await session.client.ask(args.questions, job=args.job, url=args.site_url, wait=False)
    return await _follow_document(session, receipt, args, title=f"ask {args.job or args.site_url}")


async def crawl(session: Session, args: argparse.Namespace) -> ExitCode:
    receipt = await session.client.crawl(
        args.start_url, limit=args.limit, max_depth=args.max_depth, include_paths=args.include or None,
        exclude_paths=args.exclude or None, formats=args.formats, wait=False,
    )
    return await _follow_pages(session, receipt, args, title=f"crawl {args.start_url}")


async def batch(session: Session, args: argparse.Namespace) -> ExitCode:
    urls = _read_urls(args.file)
    receipt = await session.client.batch(urls, formats=args.formats, wait=False)
    return await _follow_pages(session, receipt, args, title=f"batch of {len(urls)} URLs")


async def _follow_document(session: Session, receipt: SubmitResponse, args: argparse.Namespace,
                           *, title: str) -> ExitCode:
    """Follow the job to its end, then write its result document (JobFailed/JobCancelled otherwise)."""
    session.job_id = receipt.id
    if args.no_wait:
        write_document(receipt.model_dump(mode="json"), args.output)
        return ExitCode.COMPLETED
    with ProgressReport(receipt.id, title) as report:
        async with contextlib.aclosing(session.client.events(receipt.id)) as events:
            async for event in events:
                report.show(event)
    write_document(await session.client.result(receipt.id), args.output)
    return ExitCode.COMPLETED


async def _follow_pages(session: Session, receipt: SubmitResponse, args: argparse.Namespace,
                        *, title: str) -> ExitCode:
    """Each page as one JSON line as soon as it is done, in the job's order, until the job ends."""
    session.job_id = receipt.id
    if args.no_wait:
        write_document(receipt.model_dump(mode="json"), args.output)
        return ExitCode.COMPLETED
    with ProgressReport(receipt.id, title) as report, json_lines(args.output) as out:
        pages = session.client.follow_pages(receipt.id, on_event=report.show)
        async with contextlib.aclosing(pages):
            async for page in pages:
                write_json_line(out, page.as_json())
    return ExitCode.COMPLETED


def _extract_spec(schema_path: str | None, prompt: str | None) -> dict[str, Any] | None:
    if schema_path is None and prompt is None:
        return None
    spec: dict[str, Any] = {}
    if schema_path is not None:
        try:
            spec["schema"] = json.loads(Path(schema_path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--schema {schema_path}: {exc}") from exc
    if prompt is not None:
        spec["prompt"] = prompt  # without --schema the server answers which field is missing
    return spec


def _read_urls(path: str) -> list[str]:
    """One URL a line; blank lines and `#` comments are skipped. `-` is stdin."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    urls = [line.strip() for line in text.splitlines()]
    urls = [url for url in urls if url and not url.startswith("#")]
    if not urls:
        raise UsageError(f"{'stdin' if path == '-' else path}: no URLs (one a line; # starts a comment)")
    return urls
