"""`Client`: the HTTP API as async methods, with retries and self-healing event streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import Any, Self
from urllib.parse import quote

import httpx
from httpx_sse import aconnect_sse
from pydantic import BaseModel

from jobs.models import Format, JobRecord, JobStatus, SubmitResponse
from streams.events import parse_stream_id

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
from ._retry import Backoff, RetryPolicy, retryable
from ._sse import JobEvent, event_from, retry_hint_s, server_sent_events

logger = logging.getLogger("scrapestream.client")


class Client:
    """One connection pool to a Scrapestream server; use it as `async with`.

    `stream_idle_timeout` is how long an event stream may stay silent (the
    server pings every 15 s) before it counts as lost and is reconnected.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
        stream_idle_timeout: float = 60.0,
        retry: RetryPolicy | None = None,
    ) -> None:
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

    async def scrape(
        self, url: str, *, formats: Sequence[Format | str] | None = None,
        timeout_s: float | None = None, **options: Any,
    ) -> SubmitResponse:
        """Submit a scrape of one page; the server validates the options."""
        return await self._submit_typed("scrape", url=url, formats=formats, timeout_s=timeout_s, **options)

    async def crawl(
        self, url: str, *, limit: int | None = None, max_depth: int | None = None,
        include_paths: Sequence[str] | None = None, exclude_paths: Sequence[str] | None = None,
        formats: Sequence[Format | str] | None = None, **options: Any,
    ) -> SubmitResponse:
        """Submit a crawl from `url`; its pages come page by page from `pages()`."""
        return await self._submit_typed("crawl", url=url, limit=limit, max_depth=max_depth,
                                        include_paths=include_paths, exclude_paths=exclude_paths,
                                        formats=formats, **options)

    async def batch(
        self, urls: Sequence[str], *, formats: Sequence[Format | str] | None = None, **options: Any
    ) -> SubmitResponse:
        """Submit a batch of pages; one result entry per URL, in order."""
        return await self._submit_typed("batch", urls=list(urls), formats=formats, **options)

    async def ask(
        self, questions: Sequence[str], *, job: str | None = None, url: str | None = None, **options: Any
    ) -> SubmitResponse:
        """Ask questions about a finished crawl or batch (`job`), or about a site crawled first (`url`)."""
        return await self._submit_typed("ask", questions=list(questions), job=job, url=url, **options)

    async def pages(self, job_id: str, *, limit: int = 100) -> AsyncGenerator[dict[str, Any], None]:
        """Every page entry of a crawl or batch so far, following `next` (a running crawl's last
        `next` points past what exists yet: iteration ends there; call again later for more)."""
        path: str | None = f"{_job_path(job_id)}/result?limit={limit}"
        while path is not None:
            response = await self._call("GET", path)
            body = response.json()
            for page in body["pages"]:
                yield page
            following = body.get("next")
            path = None if following is None or not body["pages"] else following

    async def _submit_typed(self, job_type: str, **fields: Any) -> SubmitResponse:
        # Options left None are the server's defaults; crawl, batch and ask helpers end here too.
        body = {"type": job_type, **{k: v for k, v in fields.items() if v is not None}}
        return await self.submit(body)

    async def get(self, job_id: str) -> JobRecord:
        response = await self._call("GET", _job_path(job_id))
        return JobRecord.model_validate_json(response.content)

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a queued or running job; Conflict if it had already finished."""
        response = await self._call("DELETE", _job_path(job_id))
        return JobRecord.model_validate_json(response.content)

    async def jobs(
        self, *, status: JobStatus | str | None = None, limit: int | None = None
    ) -> AsyncGenerator[JobRecord, None]:
        """Every job, newest first, over all pages; `limit` is the page size (1-100)."""
        params: dict[str, str] = {}
        if status is not None:
            params["status"] = str(status)
        if limit is not None:
            params["limit"] = str(limit)
        while True:
            page = (await self._call("GET", "/jobs", params=params)).json()
            for raw in page["jobs"]:
                yield JobRecord.model_validate(raw)
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
            async with asyncio.timeout(timeout):
                try:
                    return await self._result_now(job_id)
                except Conflict as exc:
                    if not wait or exc.code != "not_completed":
                        raise
                async with contextlib.aclosing(self.events(job_id)) as events:
                    async for _ in events:
                        pass
                return await self._result_now(job_id)
        except TimeoutError as exc:
            raise WaitTimeout(job_id, timeout or 0.0) from exc

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

    async def events(
        self, job_id: str, last_event_id: str | None = None
    ) -> AsyncGenerator[JobEvent, None]:
        """The job's events strictly after `last_event_id`, live, ending after the terminal one.

        Reconnects by itself with `Last-Event-ID` and never yields an event
        twice. `resync` (history was trimmed) is yielded but does not move the
        position. Break out early inside `contextlib.aclosing` to close at once.
        """
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
                        self._http, "GET", f"{_job_path(job_id)}/events", headers=headers,
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
                            event = event_from(frame)
                            order = parse_stream_id(event.id) if event.id else None
                            if order is not None:
                                # Also drops frames without an id of their own (a `retry:` hint
                                # mid-stream): the spec hands them the last id, already yielded.
                                if order <= position:
                                    continue  # a replay of what we already yielded
                                position, last = order, event.id
                            elif not frame.data:
                                continue  # a bare `retry:` hint at the start of a connection
                            yield event
                            backoff.reset()
                            if event.is_terminal:
                                return
                failure = TransportError("the event stream ended before the job did")
            except (TransportError, APIError) as exc:
                if not retryable(exc, "GET"):
                    raise
                failure = exc
            delay = backoff.next_delay(getattr(failure, "retry_after", None), hint_s)
            if delay is None:
                raise EventStreamLost(job_id, last, backoff.attempts) from failure
            logger.info("events of job %s: %s; resuming after %s in %.2f s", job_id, failure, last, delay)
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
