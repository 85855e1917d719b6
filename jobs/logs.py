"""Log lines: text or one JSON object per line (LOG_FORMAT), each naming the job it was logged for.

The worker sets `current_job_id` when a job starts (`InstantWorker.run_job`);
asyncio copies context variables into the tasks a job starts, so every line
logged while the job runs — ours, arq's, a library's — carries `job_id`,
without passing it down. Per-request lines of httpx are quieted: pages are
fetched by an httpx client over the aiohttp transport (FETCH_BACKEND), so
httpx would claim fetches it did not make, one line per page.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

import orjson

current_job_id: ContextVar[str | None] = ContextVar("current_job_id", default=None)

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(job_prefix)s%(message)s"
# Libraries whose INFO lines are one per request: kept to warnings and errors.
QUIETED = ("httpx", "httpcore")


class JobIdFilter(logging.Filter):
    """Adds `job_id` (None outside a job) and `job_prefix` (`job <id>: `, or nothing) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        job_id = current_job_id.get()
        record.job_id = job_id
        record.job_prefix = f"job {job_id}: " if job_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, job_id (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack_info"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


def formatter_for(log_format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str, log_format: LogFormat, *, loggers: tuple[str, ...] = ()) -> None:
    """The root logger (and `loggers` that keep handlers of their own, such as uvicorn's) in this format."""
    handler = logging.StreamHandler()
    handler.addFilter(JobIdFilter())
    handler.setFormatter(formatter_for(log_format))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in loggers:
        for own in logging.getLogger(name).handlers:
            own.addFilter(JobIdFilter())
            own.setFormatter(formatter_for(log_format))
    for name in QUIETED:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
