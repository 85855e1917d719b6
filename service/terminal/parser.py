"""The job commands' arguments, added to `scrapestream`'s parser by one call: `add_job_commands`.

Handlers are imported when a command runs, so `scrapestream --help` and the
server's own commands load none of the SDK.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

from jobs.models import JobStatus

JOB_TYPES = ("scrape", "crawl", "batch", "ask")


def add_job_commands(commands: Any) -> None:
    """Add scrape, crawl, batch, ask, jobs, status, events, result, cancel, retry, changes, info, workers and
    schedule."""
    connection = _connection_options("--url", "--server")
    # `ask --url` and `jobs --url` name a site, as the API's `url` does: there the server is `--server` only.
    server_only = _connection_options("--server")

    def command(name: str, handler: str, help: str) -> argparse.ArgumentParser:
        parents = [server_only if name in ("ask", "jobs") else connection]
        parser: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help, parents=parents)
        parser.set_defaults(run=_runner(handler), follows_job=handler.startswith("submitting:"))
        return parser

    def submit_options(parser: argparse.ArgumentParser, *, with_formats: bool = True) -> None:
        if with_formats:
            parser.add_argument("--formats", type=_formats, default=None, metavar="A,B",
                                help="markdown, metadata, product, links, html (default: all but html)")
        parser.add_argument("--no-wait", action="store_true", help="print the receipt and return at once")
        parser.add_argument("-o", "--output", metavar="FILE", help="write into FILE instead of stdout")

    scrape = command("scrape", "submitting:scrape", "scrape one page; its document as JSON on stdout")
    scrape.add_argument("page_url", metavar="URL")
    scrape.add_argument("--schema", metavar="FILE", help="a JSON Schema file: an LLM extracts data matching it")
    scrape.add_argument("--prompt", metavar="TEXT", help="what the LLM should look for (with --schema)")
    scrape.add_argument("--priority", type=int, metavar="N", help="1-9 (default 5); 9 jumps the queue")
    submit_options(scrape)

    crawl = command("crawl", "submitting:crawl", "crawl a site; one JSON line per page as it is done")
    crawl.add_argument("start_url", metavar="URL")
    crawl.add_argument("--limit", type=int, metavar="N", help="most pages (default 100)")
    crawl.add_argument("--max-depth", type=int, metavar="N", help="most link hops from URL (default 3)")
    crawl.add_argument("--include", action="append", default=[], metavar="RE", help="a regex paths must match")
    crawl.add_argument("--exclude", action="append", default=[], metavar="RE", help="a regex paths must not match")
    submit_options(crawl)

    batch = command("batch", "submitting:batch", "fetch a list of pages; one JSON line per page, in order")
    batch.add_argument("file", metavar="FILE", help="one URL a line (# comments, blank lines skipped); - is stdin")
    submit_options(batch)

    ask = command("ask", "submitting:ask", "answer questions from a crawl or batch, or from a site crawled first")
    about = ask.add_mutually_exclusive_group(required=True)
    about.add_argument("--job", metavar="ID", help="a finished crawl or batch of yours")
    about.add_argument("--url", dest="site_url", metavar="URL", help="a site to crawl first")
    ask.add_argument("questions", nargs="+", metavar="QUESTION")
    submit_options(ask, with_formats=False)

    jobs = command("jobs", "reading:jobs", "your jobs, newest first")
    jobs.add_argument("--status", choices=[status.value for status in JobStatus])
    jobs.add_argument("--type", choices=JOB_TYPES)
    jobs.add_argument("--url", dest="url_contains", metavar="TEXT", help="jobs whose URL contains TEXT (any case)")
    jobs.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N jobs (default 20)")
    jobs.add_argument("--follow", "-f", action="store_true",
                      help="keep the table current from GET /events (not on a terminal: JSON lines) until Ctrl-C")
    _json_option(jobs, "a JSON array of job records (with --follow: one JSON object per activity event a line)")

    status = command("status", "reading:status", "one job's record: state, progress, what was asked")
    status.add_argument("job_id", metavar="ID")
    _json_option(status, "the record as GET /jobs/{id} answers it")

    events = command("events", "reading:events", "a job's events so far; --follow: live, to its end")
    events.add_argument("job_id", metavar="ID")
    events.add_argument("--follow", "-f", action="store_true",
                        help="wait for new events until the job ends; exit 0, 1 or 3 as it ended")
    events.add_argument("--after", metavar="EVENT_ID", help="only events after this id")
    _json_option(events, "a JSON array (with --follow: one JSON object per line)")

    result = command("result", "reading:result", "a finished job's result (crawl, batch: JSON lines)")
    result.add_argument("job_id", metavar="ID")
    result.add_argument("-o", "--output", metavar="FILE", help="write into FILE instead of stdout")

    cancel = command("cancel", "control:cancel", "cancel a queued or running job")
    cancel.add_argument("job_id", metavar="ID")
    _json_option(cancel, "the record as DELETE /jobs/{id} answers it")

    retry = command("retry", "control:retry", "run failed or cancelled jobs again, as a new attempt")
    retry.add_argument("job_ids", nargs="*", metavar="ID")
    retry.add_argument("--failed", action="store_true", help="every failed job of yours, in one call")
    retry.add_argument("--type", choices=JOB_TYPES, help="with --failed: only jobs of this type")
    _json_option(retry, "a JSON array of the retried ids")

    changes = command("changes", "changes:changes",
                      "what a schedule's runs found new or changed, newest first, with their diffs")
    changes.add_argument("schedule_id", metavar="ID")
    changes.add_argument("--limit", type=_positive, default=20, metavar="N", help="at most N changes (default 20)")
    _json_option(changes, "a JSON array, each as GET /schedules/{id}/changes lists it")

    info = command("info", "queue_info:info", "queued by priority, scheduled, running, outcomes, live workers")
    _json_option(info, '{"queue": GET /queue, "workers": GET /workers}')

    workers = command("workers", "queue_info:workers", "the live workers and what each runs now")
    _json_option(workers, "a JSON array, as GET /workers")

    _add_schedule_commands(commands, connection)


def _add_schedule_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """`schedule add | list | pause | resume | rm`."""
    about = "jobs run again and again: every N seconds, or by cron"
    schedule = commands.add_parser("schedule", help=about, description=about)
    actions = schedule.add_subparsers(dest="schedule_action", required=True, metavar="ACTION")

    def action(name: str, handler: str, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help, parents=[connection])
        parser.set_defaults(run=_runner(f"scheduling:{handler}"), follows_job=False)
        return parser

    add = action("add", "add", "scrape URL again and again (or crawl from it): --every 1h, or --cron EXPR")
    add.add_argument("page_url", metavar="URL")
    cadence = add.add_mutually_exclusive_group(required=True)
    cadence.add_argument("--every", type=_duration, metavar="DURATION", help="90s, 15m, 1h, 1d, 1h30m")
    cadence.add_argument("--cron", metavar="EXPR", help='a cron expression, e.g. "0 9 * * MON-FRI"')
    add.add_argument("--timezone", metavar="ZONE", help="the IANA zone --cron is read in (default UTC)")
    add.add_argument("--jitter", type=_duration, metavar="DURATION",
                     help="start each run up to this much after its time (spreads schedules of the same second)")
    add.add_argument("--crawl", action="store_true", help="crawl the site from URL instead of scraping the page")
    add.add_argument("--limit", type=_positive, metavar="N", help="with --crawl: most pages (default 100)")
    add.add_argument("--formats", type=_formats, default=None, metavar="A,B",
                     help="markdown, metadata, product, links, html (default: all but html)")
    _json_option(add, "the schedule as POST /schedules answers it")

    listing = action("list", "list_schedules", "your schedules: cadence, next run, runs, last run, last change")
    _json_option(listing, "a JSON array of schedules, as GET /schedules/{id} answers each")

    for name, help in (("pause", "no run until resumed"), ("resume", "run again, from the next tick")):
        parser = action(name, name, help)
        parser.add_argument("schedule_id", metavar="ID")
        _json_option(parser, "the schedule as PATCH /schedules/{id} answers it")

    remove = action("rm", "remove", "delete schedules: no run after this (their runs stay, as jobs)")
    remove.add_argument("schedule_ids", nargs="+", metavar="ID")


def _connection_options(*url_flags: str) -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("server")
    group.add_argument(*url_flags, dest="server_url", metavar="URL", default=None,
                       help="the server (default: $SCRAPESTREAM_URL, else http://127.0.0.1:8000)")
    group.add_argument("--api-key", default=None, metavar="KEY", help="default: $SCRAPESTREAM_API_KEY")
    return options


def _runner(handler: str) -> Any:
    def run(args: argparse.Namespace) -> int:
        from .session import run_command

        module, _, name = handler.partition(":")
        return run_command(getattr(importlib.import_module(f"{__package__}.{module}"), name), args)

    return run


def _json_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--json", action="store_true", help=f"for scripts: {what}")


def _duration(value: str) -> int:
    from .scheduling import parse_duration

    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _formats(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number
