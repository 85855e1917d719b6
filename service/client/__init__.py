"""The async Python SDK: submit jobs, follow their events, fetch their results.

    async with Client("http://127.0.0.1:8000") as client:
        job = await client.scrape("https://example.com/")
        async for event in client.events(job.id):
            print(event.type, event.data)
        page = await client.result(job.id)

Errors form one tree under `ScrapestreamError`, drawn in `service.client._errors`.
Importing this package must not import Starlette, arq or the worker: it only
uses httpx, httpx-sse and the pure models of `jobs.models` and `streams.events`.
"""

from ._client import Client
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
from ._retry import RetryPolicy
from ._sse import JobEvent

__all__ = [
    "APIError",
    "BadRequest",
    "Client",
    "Conflict",
    "EventStreamLost",
    "InvalidRequest",
    "JobCancelled",
    "JobError",
    "JobEvent",
    "JobFailed",
    "NotFound",
    "RateLimited",
    "RetryPolicy",
    "ScrapestreamError",
    "ServerError",
    "ServiceUnavailable",
    "TransportError",
    "Unauthorized",
    "WaitTimeout",
]
