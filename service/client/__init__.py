"""The Python SDK: submit jobs, follow their events, get their results; async and blocking.

    async with Client() as client:                  # SCRAPESTREAM_URL, SCRAPESTREAM_API_KEY
        page = await client.scrape("https://example.com/")
        print(page.title, page.product and page.product.price)
        async for page in client.crawl("https://example.com/", limit=50):
            print(page.url, page.error)             # each page while the crawl runs

    with SyncClient() as client:                    # the same methods, blocking
        page = client.scrape("https://example.com/")
        client.schedules.create({"url": "https://example.com/"}, every_s=3600)   # a scrape every hour

Results are the pydantic models of `jobs.models` (`PageResult`, `AskResult`), schedules
`jobs.schedules.models.Schedule`.

Errors form one tree under `ScrapestreamError`, drawn in `service.client._errors`.
Importing this package must not import Starlette, arq or the worker: it only
uses httpx, httpx-sse and the pure models of `jobs.models` and `streams.events`.
"""

from ._client import Client, PageStream
from ._errors import (
    APIError,
    BadRequest,
    Conflict,
    EventStreamLost,
    InvalidRequest,
    JobCancelled,
    JobError,
    JobFailed,
    NotFound,
    RateLimited,
    ScrapestreamError,
    ServerError,
    ServiceUnavailable,
    TransportError,
    Unauthorized,
    WaitTimeout,
)
from ._models import Health, QueueStats, WorkerInfo
from ._options import AskOptions, BatchOptions, CrawlOptions, JobOptions, PageOptions, ScrapeOptions
from ._retry import RetryPolicy
from ._schedules import Schedules
from ._sse import JobEvent
from ._sync import SyncClient, SyncIterator, SyncPageStream, SyncSchedules

__all__ = [
    "APIError",
    "AskOptions",
    "BadRequest",
    "BatchOptions",
    "Client",
    "Conflict",
    "CrawlOptions",
    "EventStreamLost",
    "Health",
    "InvalidRequest",
    "JobCancelled",
    "JobError",
    "JobEvent",
    "JobFailed",
    "JobOptions",
    "NotFound",
    "PageOptions",
    "PageStream",
    "QueueStats",
    "RateLimited",
    "RetryPolicy",
    "Schedules",
    "ScrapeOptions",
    "ScrapestreamError",
    "ServerError",
    "ServiceUnavailable",
    "SyncClient",
    "SyncIterator",
    "SyncPageStream",
    "SyncSchedules",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
    "WorkerInfo",
]
