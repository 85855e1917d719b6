"""`Client`: the HTTP API as async methods, with retries and self-healing event streams.

The one-call helpers (`scrape`, `crawl`, `batch`, `ask`) submit and then follow
the job's events to its end: they never poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping, Sequence
from typing import Any, Literal, NoReturn, Self, Unpack, overload
from urllib.parse import quote

import httpx
from httpx_sse import aconnect_sse
from pydantic import BaseModel, TypeAdapter

from jobs.models import AskResult, ChangeEntry, JobRecord, JobStatus, PageResult, SubmitResponse
from streams.events import EventType, parse_stream_id

from . import _config
from ._errors import (
    APIError,
    Conflict,
    EventStreamLost,
    JobCancelled,
    JobFailed,
    ScrapestreamError,
    TransportError,
    WaitTimeout,
    api_error,
    network_errors,
)
from ._live_pages import READ_SLICE, PageCursor
from ._models import Health, QueueStats, WorkerInfo
from ._options import AskOptions, BatchOptions, CrawlOptions, ScrapeOptions
from ._retry import Backoff, RetryPolicy, retryable
from ._schedules import Schedules
from ._sse import JobEvent, carries_no_event, event_from, retry_hint_s, server_sent_events

logger = logging.getLogger("scrapestream.client")

# The server's bound on the ids of one bulk call (`POST /jobs/delete`); more go in several calls.
_BULK_MAX = 1_000

# Request fields as JSON: models (by their aliases), datetimes and enums included.
_JSON_FIELDS = TypeAdapter(dict[str, Any])

EventCallback = Callable[[JobEvent], object]
"""Called with each event of a job a one-call helper follows (to show progress, say)."""


class Client:
    """One connection pool to a Scrapestream server; use it as `async with`.

    `base_url` and `api_key` default to `SCRAPESTREAM_URL` (else
    http://127.0.0.1:8000) and `SCRAPESTREAM_API_KEY`. `stream_idle_timeout`
    is how long an event stream may stay silent (the server pings every 15 s)
    before it counts as lost and is reconnected.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        stream_idle_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        base_url, api_key = _config.server_url(base_url), _config.api_key(api_key)
        if httpx.URL(base_url).scheme not in ("http", "https"):
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        headers = {"User-Agent": "scrapestream-sdk/0.1", "Accept": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=headers, transport=transport, timeout=timeout
        )
        self._stream_timeout = httpx.Timeout(timeout, read=stream_idle_timeout)
        self._retry = retry or RetryPolicy()
        self.schedules = Schedules(self)
        """Your schedules: `create`, `list`, `get`, `update`, `pause`, `resume`, `delete`, `runs`."""

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def submit(
        self, request: Mapping[str, Any] | BaseModel, *, idempotency_key: str | None = None
    ) -> SubmitResponse:
        """Submit a job (`{"type": ..., ...}` or a request model); answers at once."""
        if isinstance(request, BaseModel):
            body = request.model_dump(mode="json", exclude_none=True)
        else:
            body = dict(request)
        # Sent once and reused by every retry, so a server that honours it runs the job once.
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        response = await self._call("POST", "/jobs", json=body, headers=headers)
        return SubmitResponse.model_validate_json(response.content)

    @overload
    async def scrape(
        self, url: str, *, wait: Literal[True] = ..., timeout: float | None = ...,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = ..., **options: Unpack[ScrapeOptions],
    ) -> PageResult: ...

    @overload
    async def scrape(
        self, url: str, *, wait: Literal[False], timeout: float | None = ...,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = ..., **options: Unpack[ScrapeOptions],
    ) -> SubmitResponse: ...

    async def scrape(
        self, url: str, *, wait: bool = True, timeout: float | None = None,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = None, **options: Unpack[ScrapeOptions],
    ) -> PageResult | SubmitResponse:
        """Scrape one page and return its document, following the job's events to its end.

        `timeout_s` bounds the job on the server; `timeout` how long we wait
        (WaitTimeout). JobFailed/JobCancelled if it ends without a page.
        `on_event` sees each event as it comes; `wait=False` returns the receipt at once.
        """
        job = await self.submit(_request_body("scrape", {"url": url}, options))
        if not wait:
            return job
        return PageResult.model_validate(await self._wait_for_result(job.id, timeout, on_event))

    @overload
    def crawl(
        self, url: str, *, wait: Literal[True] = ..., on_event: EventCallback | None = ...,
        **options: Unpack[CrawlOptions],
    ) -> PageStream: ...

    @overload
    def crawl(
        self, url: str, *, wait: Literal[False], on_event: EventCallback | None = ...,
        **options: Unpack[CrawlOptions],
    ) -> Coroutine[Any, Any, SubmitResponse]: ...

    def crawl(
        self, url: str, *, wait: bool = True, on_event: EventCallback | None = None,
        **options: Unpack[CrawlOptions],
    ) -> PageStream | Coroutine[Any, Any, SubmitResponse]:
        """Crawl from `url`: `async for page in client.crawl(...)` gets each page while the crawl runs.

        The job is submitted when iteration starts (`.job` is its receipt then);
        iteration ends with the crawl, raising JobFailed/JobCancelled if it did
        not complete. `await client.crawl(..., wait=False)` submits and returns the receipt.
        """
        body = _request_body("crawl", {"url": url}, options)
        return PageStream(self, body, on_event) if wait else self.submit(body)

    @overload
    def batch(
        self, urls: Sequence[str], *, wait: Literal[True] = ..., on_event: EventCallback | None = ...,
        **options: Unpack[BatchOptions],
    ) -> PageStream: ...

    @overload
    def batch(
        self, urls: Sequence[str], *, wait: Literal[False], on_event: EventCallback | None = ...,
        **options: Unpack[BatchOptions],
    ) -> Coroutine[Any, Any, SubmitResponse]: ...

    def batch(
        self, urls: Sequence[str], *, wait: bool = True, on_event: EventCallback | None = None,
        **options: Unpack[BatchOptions],
    ) -> PageStream | Coroutine[Any, Any, SubmitResponse]:
        """Fetch a list of pages: one entry per URL, in the order given, each as soon as it and
        those before it are done (a page that failed has `error`). Otherwise like `crawl`."""
        body = _request_body("batch", {"urls": list(urls)}, options)
        return PageStream(self, body, on_event) if wait else self.submit(body)

    @overload
    async def ask(
        self, questions: Sequence[str], *, job: str | None = ..., url: str | None = ...,
        wait: Literal[True] = ..., timeout: float | None = ...,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = ..., **options: Unpack[AskOptions],
    ) -> AskResult: ...

    @overload
    async def ask(
        self, questions: Sequence[str], *, job: str | None = ..., url: str | None = ...,
        wait: Literal[False], timeout: float | None = ...,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = ..., **options: Unpack[AskOptions],
    ) -> SubmitResponse: ...

    async def ask(
        self, questions: Sequence[str], *, job: str | None = None, url: str | None = None,
        wait: bool = True, timeout: float | None = None,  # noqa: ASYNC109 (the SDK's API)
        on_event: EventCallback | None = None, **options: Unpack[AskOptions],
    ) -> AskResult | SubmitResponse:
        """Answer questions from a finished crawl or batch (`job`), or from a site crawled first (`url`)."""
        receipt = await self.submit(_request_body("ask", {"questions": list(questions), "job": job, "url": url},
                                                  options))
        if not wait:
            return receipt
        return AskResult.model_validate(await self._wait_for_result(receipt.id, timeout, on_event))

    async def pages(self, job_id: str, *, limit: int = 100) -> AsyncGenerator[PageResult, None]:
        """Every page entry of a crawl or batch so far, following `next` (a running crawl's last
        `next` points past what exists yet: iteration ends there; `follow_pages` waits for more)."""
        path: str | None = f"{_job_path(job_id)}/result?limit={limit}"
        while path is not None:
            response = await self._call("GET", path)
            body = response.json()
            for page in body["pages"]:
                yield PageResult.model_validate(page)
            following = body.get("next")
            path = None if following is None or not body["pages"] else following

    async def follow_pages(
        self, job_id: str, *, on_event: EventCallback | None = None
    ) -> AsyncGenerator[PageResult, None]:
        """The pages of a crawl or batch, each once and in order, as they are done, until it ends.

        Driven by the job's `page` events (no polling); raises JobFailed or
        JobCancelled after the last page if the job did not complete.
        """
        kind = (await self.get(job_id)).type
        async for page in self._follow_pages(job_id, kind, on_event):
            yield page

    async def _follow_pages(
        self, job_id: str, kind: str, on_event: EventCallback | None
    ) -> AsyncGenerator[PageResult, None]:
        cursor = PageCursor(kind)
        end: JobEvent | None = None
        async with contextlib.aclosing(self.events(job_id)) as events:
            async for event in events:
                if on_event is not None:
                    on_event(event)
                if event.is_terminal:
                    end = event
                    break
                if cursor.saw(event):
                    async for page in self._read_new_pages(job_id, cursor, ended=False):
                        yield page
        async for page in self._read_new_pages(job_id, cursor, ended=True):
            yield page
        if end is not None and end.type != EventType.COMPLETED:
            await self._raise_job_error(job_id)

    async def _read_new_pages(
        self, job_id: str, cursor: PageCursor, *, ended: bool
    ) -> AsyncGenerator[PageResult, None]:
        more = True
        while more:
            params = {"cursor": str(cursor.index), "limit": str(READ_SLICE)}
            body = (await self._call("GET", f"{_job_path(job_id)}/result", params=params)).json()
            fresh, more = cursor.take(body["pages"], ended=ended)
            more = more and body.get("next") is not None
            for entry in fresh:
                yield PageResult.model_validate(entry)

    async def _wait_for_result(
        self, job_id: str, timeout: float | None, on_event: EventCallback | None  # noqa: ASYNC109
    ) -> Any:
        """Follow the job's events to the terminal one (no polling), then fetch its result."""
        after: str | None = None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    async with contextlib.aclosing(self.events(job_id, after)) as events:
                        async for event in events:
                            after = event.id or after
                            if on_event is not None:
                                on_event(event)
                    try:
                        return await self._result_now(job_id)
                    except Conflict as exc:
                        # A re-run keeps the stream's earlier attempts: the terminal event just read
                        # was an earlier one's, and the job is queued again. Follow on from there.
                        if exc.code != "not_completed":
                            raise
        except TimeoutError as exc:
            raise WaitTimeout(job_id, timeout or 0.0) from exc

    async def _raise_job_error(self, job_id: str) -> NoReturn:
        record = await self.get(job_id)
        if record.status is JobStatus.CANCELLED:
            raise JobCancelled(record)
        raise JobFailed(record)

    async def get(self, job_id: str) -> JobRecord:
        response = await self._call("GET", _job_path(job_id))
        return JobRecord.model_validate_json(response.content)

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued or running job; Conflict if it had already finished."""
        response = await self._call("DELETE", _job_path(job_id))
        return JobRecord.model_validate_json(response.content)

    async def retry(self, job_id: str) -> JobRecord:
        """Run a failed or cancelled job again, as a new attempt; Conflict (`not_retryable`) otherwise."""
        response = await self._call("POST", f"{_job_path(job_id)}/retry")
        return JobRecord.model_validate_json(response.content)

    async def retry_failed(self, *, type: str | None = None) -> list[str]:
        """Run every failed job of yours again (only those of `type`, if given); their ids."""
        body = {"status": "failed", **({"type": type} if type is not None else {})}
        retried = (await self._call("POST", "/jobs/retry", json=body)).json()["retried"]
        return [str(job_id) for job_id in retried]

    async def queue(self) -> QueueStats:
        """How many jobs wait (by priority), are scheduled, run and ended; live workers."""
        return QueueStats.model_validate_json((await self._call("GET", "/queue")).content)

    async def workers(self) -> list[WorkerInfo]:
        """The live workers: each one's host, pid, heartbeat, the jobs it runs now and how many it finished."""
        body = (await self._call("GET", "/workers")).json()
        listed = body["workers"] if isinstance(body, dict) else body
        return [WorkerInfo.model_validate(worker) for worker in listed]

    async def health(self) -> Health:
        """The server's health, asked once: a 503 (Redis unreachable) is an answer here, not an error."""
        with network_errors():
            response = await self._http.get("/health")
        if response.status_code not in (200, 503):
            raise api_error(response)
        return Health.model_validate_json(response.content)

    async def jobs(
        self, *, status: JobStatus | str | None = None, type: str | None = None, url: str | None = None,
        limit: int | None = None, schedule: str | None = None,
    ) -> AsyncGenerator[JobRecord, None]:
        """Every job of yours, newest first, over all pages: of a `status` and `type`, whose URL
        contains `url` (any case), the runs of a `schedule`, if given; `limit` is the page size (1-100)."""
        filters = {"status": status, "type": type, "url": url, "limit": limit, "schedule": schedule}
        params = {name: str(value) for name, value in filters.items() if value is not None}
        while True:
            page = (await self._call("GET", "/jobs", params=params)).json()
            for raw in page["jobs"]:
                yield JobRecord.model_validate(raw)
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    async def changes(self, schedule_id: str, *, limit: int | None = None) -> AsyncGenerator[ChangeEntry, None]:
        """What a schedule's runs found new or changed, newest first, with their diffs, over all pages
        (`GET /schedules/{id}/changes`); `limit` is the page size (1-100). NotFound for no schedule of yours."""
        params = {} if limit is None else {"limit": str(limit)}
        while True:
            path = f"/schedules/{quote(schedule_id, safe='')}/changes"
            page = (await self._call("GET", path, params=params)).json()
            for raw in page["changes"]:
                yield ChangeEntry.model_validate(raw)
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    async def result(
        self, job_id: str, *, wait: bool = False, timeout: float | None = None  # noqa: ASYNC109 (the SDK's API)
    ) -> Any:
        """The result of a completed job. JobFailed/JobCancelled if it ended otherwise.

        Without `wait`, an unfinished job raises Conflict (`not_completed`); with
        it, the events are followed to the end first (WaitTimeout after `timeout`).
        """
        try:
            return await self._result_now(job_id)
        except Conflict as exc:
            if not wait or exc.code != "not_completed":
                raise
        return await self._wait_for_result(job_id, timeout, None)

    async def _result_now(self, job_id: str) -> Any:
        try:
            return (await self._call("GET", f"{_job_path(job_id)}/result")).json()
        except Conflict as exc:
            job = exc.job
            if job is not None and job.status is JobStatus.FAILED:
                raise JobFailed(job) from exc
            if job is not None and job.status is JobStatus.CANCELLED:
                raise JobCancelled(job) from exc
            raise

    async def history(self, job_id: str, last_event_id: str | None = None) -> list[JobEvent]:
        """The job's events so far (strictly after `last_event_id`), at once: no waiting for more."""
        params = {"format": "json", **({"last_event_id": last_event_id} if last_event_id else {})}
        entries = (await self._call("GET", f"{_job_path(job_id)}/events", params=params)).json()
        return [JobEvent(entry["id"], entry["type"], entry["data"]) for entry in entries]

    async def events(
        self, job_id: str, last_event_id: str | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        """The job's events strictly after `last_event_id`, live, ending after the terminal one.

        Reconnects by itself with `Last-Event-ID` and never yields an event
        twice. `resync` (history was trimmed) is yielded but does not move the
        position. Break out early inside `contextlib.aclosing` to close at once.
        """
        async with contextlib.aclosing(self._follow(f"{_job_path(job_id)}/events", job_id, last_event_id,
                                                    until_terminal=True)) as stream:
            async for event in stream:
                yield event

    async def activity(self, after: str | None = None) -> AsyncGenerator[JobEvent, None]:
        """The lifecycle of every job of yours (`GET /events`), strictly after `after`, live, never ending.

        Each event's `data` is the job's record; `queue` events (no id) carry
        the `/queue` numbers. Without `after` it starts from now (`"0"`: all
        the server keeps). Reconnects with `Last-Event-ID` like `events()`.
        """
        async with contextlib.aclosing(self._follow("/events", "activity", after, until_terminal=False)) as stream:
            async for event in stream:
                yield event

    async def delete(self, ids: Sequence[str]) -> list[str]:
        """Delete finished jobs of yours (record, events, result, pages); the ids deleted.

        Queued, scheduled and running jobs are left alone: cancel them first.
        """
        deleted: list[str] = []
        for start in range(0, len(ids), _BULK_MAX):
            body = {"ids": list(ids[start:start + _BULK_MAX])}
            deleted += (await self._call("POST", "/jobs/delete", json=body)).json()["deleted"]
        return [str(job_id) for job_id in deleted]

    async def _follow(
        self, path: str, what: str, last_event_id: str | None, *, until_terminal: bool
    ) -> AsyncGenerator[JobEvent, None]:
        """An event stream strictly after `last_event_id`, resumed with `Last-Event-ID` across reconnects."""
        last = last_event_id
        # The server's ids only grow: anything at or below `position` was yielded already.
        position = (parse_stream_id(last) or (-1, -1)) if last else (-1, -1)
        backoff = Backoff(self._retry)
        hint_s: float | None = None  # the server's `retry:`, the base of our waits
        while True:
            headers = {} if last is None else {"Last-Event-ID": last}
            failure: ScrapestreamError
            try:
                with network_errors():
                    async with aconnect_sse(
                        self._http, "GET", path, headers=headers,
                        timeout=self._stream_timeout,
                    ) as source:
                        response = source.response
                        if response.status_code == 204:
                            return  # we had already seen the terminal event
                        if response.is_error:
                            await response.aread()
                            raise api_error(response)
                        _check_stream(response)
                        async for frame in server_sent_events(response):
                            if (hint := retry_hint_s(frame)) is not None:
                                hint_s = hint
                            if carries_no_event(frame):
                                # Its id (if any) is where the server started us: resume after it.
                                order = parse_stream_id(frame.id) if frame.id else None
                                if order is not None and order > position:
                                    position, last = order, frame.id
                                continue
                            event = event_from(frame)
                            order = parse_stream_id(event.id) if event.id else None
                            if order is not None:
                                # Also drops frames without an id of their own: the spec
                                # hands them the last id, already yielded.
                                if order <= position:
                                    continue  # a replay of what we already yielded
                                position, last = order, event.id
                            yield event
                            backoff.reset()
                            if until_terminal and event.is_terminal:
                                return
                failure = TransportError(f"the event stream of {what} ended")
            except (TransportError, APIError) as exc:
                if not retryable(exc, "GET"):
                    raise
                failure = exc
            delay = backoff.next_delay(getattr(failure, "retry_after", None), hint_s)
            if delay is None:
                raise EventStreamLost(what, last, backoff.attempts) from failure
            logger.info("events of %s: %s; resuming after %s in %.2f s", what, failure, last, delay)
            await asyncio.sleep(delay)

    async def _call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None,
        json: Any = None, headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request, retried (bounded) on 429/503 and on failures safe to retry."""
        backoff = Backoff(self._retry)
        while True:
            try:
                with network_errors():
                    response = await self._http.request(method, path, params=params, json=json,
                                                        headers=headers)
                if not response.is_error:
                    return response
                raise api_error(response)
            except (TransportError, APIError) as exc:
                if not retryable(exc, method):
                    raise
                delay = backoff.next_delay(getattr(exc, "retry_after", None))
                if delay is None:
                    raise
                logger.info("%s %s: %s; retrying in %.2f s", method, path, exc, delay)
            await asyncio.sleep(delay)


def _check_stream(response: httpx.Response) -> None:
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    if response.status_code != 200 or content_type != "text/event-stream":
        # EventSource fails such a connection too; it is retried like a broken one.
        raise TransportError(f"expected an event stream, got {response.status_code} {content_type!r}")


def _job_path(job_id: str) -> str:
    return f"/jobs/{quote(job_id, safe='')}"


def _request_body(job_type: str, subject: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON body of a job: its type, what it is about, and its options (models, dates and enums as JSON)."""
    # Options left None are the server's defaults.
    fields = {name: value for name, value in {**subject, **options}.items() if value is not None}
    return {"type": job_type, **_JSON_FIELDS.dump_python(fields, mode="json", by_alias=True)}


class PageStream:
    """The pages of a crawl or batch while it runs: `async for page in client.crawl(...)`.

    The job is submitted when iteration starts; `job` is its receipt from then
    on (to follow it again, or cancel it). Close it early with `aclose()` or
    `contextlib.aclosing`.
    """

    def __init__(self, client: Client, body: dict[str, Any], on_event: EventCallback | None) -> None:
        self._client = client
        self._body = body
        self._on_event = on_event
        self._pages: AsyncGenerator[PageResult, None] | None = None
        self.job: SubmitResponse | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> PageResult:
        if self._pages is None:
            self._pages = self._run()
        return await anext(self._pages)

    async def aclose(self) -> None:
        if self._pages is not None:
            await self._pages.aclose()

    async def _run(self) -> AsyncGenerator[PageResult, None]:
        self.job = await self._client.submit(self._body)
        async for page in self._client._follow_pages(self.job.id, self.job.type, self._on_event):
            yield page
