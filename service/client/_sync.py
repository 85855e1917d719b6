"""`SyncClient`: the same methods as `Client`, blocking, for scripts and notebooks.

One event loop runs in a thread of the client's own for as long as the client
lives, and every call runs the async client's method there and waits for it.
Not `asyncio.run` per call: the connection pool outlives a call, an iterator
stays open across calls, and a notebook's own running loop is never touched.
Ctrl-C while a call waits cancels that call (never the job on the server).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Coroutine, Mapping, Sequence
from typing import Any, Generic, Literal, Self, TypeVar, Unpack, overload

from pydantic import BaseModel

from jobs.models import AskResult, ChangeEntry, JobRecord, JobStatus, PageResult, SubmitResponse
from jobs.schedules.models import Schedule

from ._client import Client, EventCallback, PageStream
from ._models import Health, QueueStats, WorkerInfo
from ._options import AskOptions, BatchOptions, CrawlOptions, ScrapeOptions
from ._retry import RetryPolicy
from ._schedules import Schedules
from ._sse import JobEvent

T = TypeVar("T")


class _Loop:
    """An event loop in a daemon thread; `run` waits for a coroutine on it from any other thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="scrapestream-sdk", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        return self._loop.is_closed()

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coroutine.close()
            raise RuntimeError("the client is closed")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # Ctrl-C (or any error while waiting): the coroutine must not run on unseen
            raise

    def close(self) -> None:
        if self._loop.is_closed():
            return
        # Iterators dropped unfinished still hold an event stream: close them on their loop.
        with contextlib.suppress(TimeoutError):
            asyncio.run_coroutine_threadsafe(self._loop.shutdown_asyncgens(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


async def _next(iterator: AsyncIterator[T]) -> T:
    return await anext(iterator)


class SyncIterator(Generic[T]):
    """An async iterator of the client, stepped from the calling thread; `close()` (or `with`) ends it early."""

    def __init__(self, loop: _Loop, iterator: AsyncIterator[T]) -> None:
        self._loop = loop
        self._iterator = iterator
        self._done = False

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        try:
            return self._loop.run(_next(self._iterator))
        except StopAsyncIteration:
            self._done = True
            raise StopIteration from None
        except BaseException:
            self._done = True
            raise

    def close(self) -> None:
        if not self._done and not self._loop.closed:
            self._done = True
            closer = getattr(self._iterator, "aclose", None)
            if closer is not None:
                self._loop.run(closer())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class SyncPageStream(SyncIterator[PageResult]):
    """The pages of a crawl or batch while it runs; `job` is the receipt once iteration started."""

    def __init__(self, loop: _Loop, stream: PageStream) -> None:
        super().__init__(loop, stream)
        self._stream = stream

    @property
    def job(self) -> SubmitResponse | None:
        return self._stream.job


class SyncSchedules:
    """`Client.schedules`, blocking: the same methods."""

    def __init__(self, loop: _Loop, schedules: Schedules) -> None:
        self._loop = loop
        self._schedules = schedules

    def create(
        self, job: Mapping[str, Any] | BaseModel, *, every_s: int | None = None, cron: str | None = None,
        timezone: str | None = None, jitter_s: int | None = None,
    ) -> Schedule:
        return self._loop.run(self._schedules.create(job, every_s=every_s, cron=cron, timezone=timezone,
                                                     jitter_s=jitter_s))

    def list(self) -> SyncIterator[Schedule]:
        return SyncIterator(self._loop, self._schedules.list())

    def get(self, schedule_id: str) -> Schedule:
        return self._loop.run(self._schedules.get(schedule_id))

    def update(
        self, schedule_id: str, *, every_s: int | None = None, cron: str | None = None, timezone: str | None = None,
        jitter_s: int | None = None, paused: bool | None = None,
    ) -> Schedule:
        return self._loop.run(self._schedules.update(schedule_id, every_s=every_s, cron=cron, timezone=timezone,
                                                     jitter_s=jitter_s, paused=paused))

    def pause(self, schedule_id: str) -> Schedule:
        return self._loop.run(self._schedules.pause(schedule_id))

    def resume(self, schedule_id: str) -> Schedule:
        return self._loop.run(self._schedules.resume(schedule_id))

    def delete(self, schedule_id: str) -> None:
        self._loop.run(self._schedules.delete(schedule_id))

    def runs(self, schedule_id: str) -> SyncIterator[JobRecord]:
        return SyncIterator(self._loop, self._schedules.runs(schedule_id))


class SyncClient:
    """The HTTP API as blocking methods, the same as `Client`'s; use it as `with`, or `close()` it.

    `on_event` callbacks run in the client's loop thread.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        stream_idle_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = Client(base_url, api_key, timeout=timeout, stream_idle_timeout=stream_idle_timeout,
                              retry=retry)
        self._loop = _Loop()
        self.schedules = SyncSchedules(self._loop, self._client.schedules)
        """Your schedules, as `Client.schedules`, blocking."""

    @property
    def base_url(self) -> str:
        return self._client.base_url

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if not self._loop.closed:
            try:
                self._loop.run(self._client.aclose())
            finally:
                self._loop.close()

    def submit(self, request: dict[str, Any] | BaseModel, *, idempotency_key: str | None = None) -> SubmitResponse:
        return self._loop.run(self._client.submit(request, idempotency_key=idempotency_key))

    @overload
    def scrape(
        self, url: str, *, wait: Literal[True] = ..., timeout: float | None = ...,
        on_event: EventCallback | None = ..., **options: Unpack[ScrapeOptions],
    ) -> PageResult: ...

    @overload
    def scrape(
        self, url: str, *, wait: Literal[False], timeout: float | None = ...,
        on_event: EventCallback | None = ..., **options: Unpack[ScrapeOptions],
    ) -> SubmitResponse: ...

    def scrape(
        self, url: str, *, wait: bool = True, timeout: float | None = None,
        on_event: EventCallback | None = None, **options: Unpack[ScrapeOptions],
    ) -> PageResult | SubmitResponse:
        """Scrape one page and return its document (see `Client.scrape`)."""
        if wait:
            return self._loop.run(self._client.scrape(url, wait=True, timeout=timeout, on_event=on_event, **options))
        return self._loop.run(self._client.scrape(url, wait=False, on_event=on_event, **options))

    @overload
    def crawl(
        self, url: str, *, wait: Literal[True] = ..., on_event: EventCallback | None = ...,
        **options: Unpack[CrawlOptions],
    ) -> SyncPageStream: ...

    @overload
    def crawl(
        self, url: str, *, wait: Literal[False], on_event: EventCallback | None = ...,
        **options: Unpack[CrawlOptions],
    ) -> SubmitResponse: ...

    def crawl(
        self, url: str, *, wait: bool = True, on_event: EventCallback | None = None,
        **options: Unpack[CrawlOptions],
    ) -> SyncPageStream | SubmitResponse:
        """`for page in client.crawl(...)`: each page while the crawl runs (see `Client.crawl`)."""
        if wait:
            return SyncPageStream(self._loop, self._client.crawl(url, wait=True, on_event=on_event, **options))
        return self._loop.run(self._client.crawl(url, wait=False, on_event=on_event, **options))

    @overload
    def batch(
        self, urls: Sequence[str], *, wait: Literal[True] = ..., on_event: EventCallback | None = ...,
        **options: Unpack[BatchOptions],
    ) -> SyncPageStream: ...

    @overload
    def batch(
        self, urls: Sequence[str], *, wait: Literal[False], on_event: EventCallback | None = ...,
        **options: Unpack[BatchOptions],
    ) -> SubmitResponse: ...

    def batch(
        self, urls: Sequence[str], *, wait: bool = True, on_event: EventCallback | None = None,
        **options: Unpack[BatchOptions],
    ) -> SyncPageStream | SubmitResponse:
        """`for page in client.batch(urls)`: one entry per URL, in order, as they are done."""
        if wait:
            return SyncPageStream(self._loop, self._client.batch(urls, wait=True, on_event=on_event, **options))
        return self._loop.run(self._client.batch(urls, wait=False, on_event=on_event, **options))

    @overload
    def ask(
        self, questions: Sequence[str], *, job: str | None = ..., url: str | None = ...,
        wait: Literal[True] = ..., timeout: float | None = ..., on_event: EventCallback | None = ...,
        **options: Unpack[AskOptions],
    ) -> AskResult: ...

    @overload
    def ask(
        self, questions: Sequence[str], *, job: str | None = ..., url: str | None = ...,
        wait: Literal[False], timeout: float | None = ..., on_event: EventCallback | None = ...,
        **options: Unpack[AskOptions],
    ) -> SubmitResponse: ...

    def ask(
        self, questions: Sequence[str], *, job: str | None = None, url: str | None = None,
        wait: bool = True, timeout: float | None = None, on_event: EventCallback | None = None,
        **options: Unpack[AskOptions],
    ) -> AskResult | SubmitResponse:
        if wait:
            return self._loop.run(self._client.ask(questions, job=job, url=url, wait=True, timeout=timeout,
                                                   on_event=on_event, **options))
        return self._loop.run(self._client.ask(questions, job=job, url=url, wait=False, on_event=on_event,
                                               **options))

    def pages(self, job_id: str, *, limit: int = 100) -> SyncIterator[PageResult]:
        return SyncIterator(self._loop, self._client.pages(job_id, limit=limit))

    def follow_pages(self, job_id: str, *, on_event: EventCallback | None = None) -> SyncIterator[PageResult]:
        return SyncIterator(self._loop, self._client.follow_pages(job_id, on_event=on_event))

    def get(self, job_id: str) -> JobRecord:
        return self._loop.run(self._client.get(job_id))

    def cancel(self, job_id: str) -> JobRecord:
        return self._loop.run(self._client.cancel(job_id))

    def retry(self, job_id: str) -> JobRecord:
        return self._loop.run(self._client.retry(job_id))

    def retry_failed(self, *, type: str | None = None) -> list[str]:
        return self._loop.run(self._client.retry_failed(type=type))

    def queue(self) -> QueueStats:
        return self._loop.run(self._client.queue())

    def workers(self) -> list[WorkerInfo]:
        return self._loop.run(self._client.workers())

    def health(self) -> Health:
        return self._loop.run(self._client.health())

    def jobs(
        self, *, status: JobStatus | str | None = None, type: str | None = None, url: str | None = None,
        limit: int | None = None, schedule: str | None = None,
    ) -> SyncIterator[JobRecord]:
        return SyncIterator(self._loop, self._client.jobs(status=status, type=type, url=url, limit=limit,
                                                          schedule=schedule))

    def changes(self, schedule_id: str, *, limit: int | None = None) -> SyncIterator[ChangeEntry]:
        return SyncIterator(self._loop, self._client.changes(schedule_id, limit=limit))

    def result(self, job_id: str, *, wait: bool = False, timeout: float | None = None) -> Any:
        return self._loop.run(self._client.result(job_id, wait=wait, timeout=timeout))

    def history(self, job_id: str, last_event_id: str | None = None) -> list[JobEvent]:
        return self._loop.run(self._client.history(job_id, last_event_id))

    def events(self, job_id: str, last_event_id: str | None = None) -> SyncIterator[JobEvent]:
        return SyncIterator(self._loop, self._client.events(job_id, last_event_id))

    def activity(self, after: str | None = None) -> SyncIterator[JobEvent]:
        return SyncIterator(self._loop, self._client.activity(after))

    def delete(self, ids: Sequence[str]) -> list[str]:
        return self._loop.run(self._client.delete(ids))
