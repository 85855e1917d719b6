"""What `service.client` exports, and what importing it costs."""

from __future__ import annotations

import inspect
import subprocess
import sys

import service.client
from jobs.models import AskRequest, BatchRequest, CrawlRequest, ScrapeRequest
from service.client import (
    APIError,
    AskOptions,
    BatchOptions,
    Client,
    Conflict,
    CrawlOptions,
    JobCancelled,
    JobError,
    JobFailed,
    Schedules,
    ScrapeOptions,
    ScrapestreamError,
    ServerError,
    ServiceUnavailable,
    SyncClient,
    SyncSchedules,
    WaitTimeout,
)
from tests.support.process import ROOT
from tests.support.public_api import check_public_api

PUBLIC_NAMES = [
    "APIError", "AskOptions", "BadRequest", "BatchOptions", "Client", "Conflict", "CrawlOptions", "EventStreamLost",
    "Health", "InvalidRequest", "JobCancelled", "JobError", "JobEvent", "JobFailed", "JobOptions", "NotFound",
    "PageOptions", "PageStream", "QueueStats", "RateLimited", "RetryPolicy", "Schedules", "ScrapeOptions",
    "ScrapestreamError", "ServerError", "ServiceUnavailable", "SyncClient", "SyncIterator", "SyncPageStream",
    "SyncSchedules", "TransportError", "Unauthorized", "WaitTimeout", "WorkerInfo",
]


def test_public_names_do_not_drift() -> None:
    assert service.client.__all__ == PUBLIC_NAMES
    check_public_api(service.client)


def test_every_exception_is_a_scrapestream_error() -> None:
    errors = [getattr(service.client, name) for name in PUBLIC_NAMES]
    errors = [kind for kind in errors if isinstance(kind, type) and issubclass(kind, BaseException)]
    assert len(errors) == 16
    assert all(issubclass(kind, ScrapestreamError) for kind in errors)
    assert issubclass(ServiceUnavailable, ServerError) and issubclass(Conflict, APIError)
    assert issubclass(JobFailed, JobError) and issubclass(JobCancelled, JobError)
    assert issubclass(WaitTimeout, TimeoutError)


def test_importing_the_sdk_does_not_import_the_server() -> None:
    """The SDK ships to programs that have no business loading Starlette, arq or uvicorn.

    Nor the server's own machinery: it reads requests and records from the pure models only.
    """
    check = ("import service.client, sys; "
             "server = {'starlette', 'arq', 'uvicorn', 'sse_starlette', 'redis'}; "
             "machinery = ('jobs.worker', 'jobs.webhooks', 'jobs.fetch'); "
             "loaded = sorted(m for m in sys.modules if m.split('.')[0] in server or m.startswith(machinery)); "
             "assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_sync_client_has_the_methods_of_the_async_one() -> None:
    """A script and a service use the same names and parameters; only `aclose` is `close`."""
    def methods(kind: type) -> dict[str, list[str]]:
        return {name: list(inspect.signature(member).parameters) for name, member in vars(kind).items()
                if not name.startswith("_") and callable(member)}

    async_methods = methods(Client)
    async_methods["close"] = async_methods.pop("aclose")
    assert methods(SyncClient) == async_methods
    assert list(inspect.signature(SyncClient).parameters) == [
        name for name in inspect.signature(Client).parameters if name != "transport"]
    assert methods(SyncSchedules) == methods(Schedules)


def test_the_one_call_helpers_name_every_option_of_their_request() -> None:
    """`client.crawl(url, sitemap=True)`: an editor offers, and mypy checks, each option of the request model.

    A field added to a request model and not to `service.client._options` fails here.
    """
    named = {"type", "url", "urls", "questions", "job"}  # the job's subject: positional or its own parameter
    for options, request in [(ScrapeOptions, ScrapeRequest), (CrawlOptions, CrawlRequest),
                             (BatchOptions, BatchRequest), (AskOptions, AskRequest)]:
        assert options.__optional_keys__ == set(request.model_fields) - named, request.__name__
        assert not options.__required_keys__
