"""Listing, reading and cancelling jobs (`POST /jobs` itself is `service.routes.submit`)."""

from __future__ import annotations

import re
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import request_response
from starlette.types import Receive, Scope, Send

from jobs.lifecycle.bulk import MAX_BULK, BulkOutcome, Selection, delete_jobs, rerun_jobs
from jobs.lifecycle.cancel import cancel_job
from jobs.lifecycle.refusals import WrongState
from jobs.lifecycle.rerun import rerun_job
from jobs.lifecycle.submit import QueueConfig
from jobs.models import MAX_URL_LENGTH, REQUEST_MODELS, JobRecord, JobStatus
from jobs.store.listing import JobFilter, list_jobs, parse_cursor
from jobs.store.pages import read_pages
from jobs.store.records import StoredJob, load_job
from streams.ascii_decimal import parse_ascii_decimal

from ..auth import authenticate, check_access
from ..errors import Conflict, InvalidBody, job_not_found
from ..json_body import read_json_body
from ..links import signed_links
from ..state import AppState, app_state
from .submit import SubmitEndpoint

# What a schedule id looks like (`jobs.schedules.store.new_schedule_id`).
SCHEDULE_ID_PATTERN = re.compile(r"s[0-9a-f]{32}")


async def accessible_job(request: Request, state: AppState, *, token_ok: bool) -> tuple[str, StoredJob]:
    job_id = request.path_params["job_id"]
    return job_id, await check_access(request, state, job_id, lambda: load_job(state.redis, state.keys, job_id),
                                      token_ok=token_ok)


async def get_job(request: Request) -> Response:
    state = app_state(request)
    job_id, stored = await accessible_job(request, state, token_ok=False)
    return JSONResponse(stored.record.public(await signed_links(state, job_id)))


PAGE_KINDS = ("crawl", "batch")
WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED)


MAX_PAGE_LIMIT = 100
# Far past any crawl's page count (LRANGE takes a signed 64-bit offset).
MAX_PAGE_OFFSET = 2**31 - 1


def query_number(request: Request, name: str, default: int, *, minimum: int, maximum: int, meaning: str) -> int:
    """A query parameter in ASCII digits within range, else 422 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = parse_ascii_decimal(raw, minimum=minimum, maximum=maximum)
    if value is None:
        raise InvalidBody(f"{name}: {meaning}", field=name)
    return value


def page_limit(request: Request) -> int:
    return query_number(request, "limit", 20, minimum=1, maximum=MAX_PAGE_LIMIT,
                        meaning=f"a whole number from 1 to {MAX_PAGE_LIMIT}")


def page_slice(request: Request) -> tuple[int, int]:
    """`?cursor=` and `?limit=` of a result: checked for every job kind, used by crawl and batch."""
    start = query_number(request, "cursor", 0, minimum=0, maximum=MAX_PAGE_OFFSET,
                         meaning="a page offset this service gave out")
    return start, page_limit(request)


async def page_results(request: Request, state: AppState, job_id: str, stored: StoredJob,
                       start: int, limit: int) -> Response:
    """A crawl's or batch's pages, a slice at a time, while it runs and after."""
    params = request.query_params
    entries, total = await read_pages(state.redis, state.keys, job_id, start, limit)
    status = stored.status
    finished = status.is_terminal
    end = start + len(entries)
    # While the job runs more pages may come: `next` then points past the last one read.
    more = end < total or (not finished and stored.type == "crawl")
    token = params.get("token")
    query = f"cursor={end}&limit={limit}" + (f"&token={token}" if token else "")
    next_url = f"/jobs/{job_id}/result?{query}" if more else None
    body = b"".join([
        b'{"status":', orjson.dumps(status.value), b',"total":', str(total).encode(), b',"pages":[',
        b",".join(entries), b'],"next":', orjson.dumps(next_url), b"}",
    ])
    return Response(body, media_type="application/json")


async def get_result(request: Request) -> Response:
    state = app_state(request)
    job_id, stored = await accessible_job(request, state, token_ok=True)
    start, limit = page_slice(request)  # a bad one is a 400 whatever the job is
    if stored.type in PAGE_KINDS and stored.status not in WAITING:
        return await page_results(request, state, job_id, stored, start, limit)
    if stored.status != JobStatus.COMPLETED:
        public = stored.record.public(await signed_links(state, job_id))
        raise Conflict(f"job {job_id} is {public['status']}, not completed", code="not_completed", job=public)
    result = await state.redis.get(state.keys.result(job_id))
    if result is None:
        raise job_not_found(job_id)
    return Response(result, media_type="application/json")


class StateChange(Protocol):
    """`cancel_job` or `rerun_job`: None for no such job, WrongState when its state refuses."""

    async def __call__(
        self, redis: Redis, config: QueueConfig, job_id: str, *, by: str, stored: StoredJob | None = None
    ) -> JobRecord | None: ...


async def change_state(request: Request, change: StateChange) -> Response:
    """Cancel or re-run the job of the path: `202` with its record, `409` (and the record) when its state refuses."""
    state = app_state(request)
    job_id, stored = await accessible_job(request, state, token_ok=False)
    try:
        record = await change(state.redis, state.queue, job_id, by="client", stored=stored)
    except WrongState as exc:
        raise Conflict(str(exc), code=exc.code, job=exc.record.public(await signed_links(state, job_id))) from exc
    if record is None:
        raise job_not_found(job_id)
    return JSONResponse(record.public(await signed_links(state, job_id)), status_code=202)


async def cancel(request: Request) -> Response:
    return await change_state(request, cancel_job)


async def list_owned_jobs(request: Request) -> Response:
    state = app_state(request)
    caller = await authenticate(request)
    params = request.query_params
    raw_status = params.get("status")
    try:
        status = JobStatus(raw_status) if raw_status is not None else None  # `?status=` is no status
    except ValueError as exc:
        raise InvalidBody(f"status: one of {', '.join(JobStatus)}", field="status") from exc
    job_type = params.get("type")
    if job_type is not None and job_type not in REQUEST_MODELS:
        raise InvalidBody(f"type: one of {', '.join(sorted(REQUEST_MODELS))}", field="type")
    url = params.get("url")
    if url is not None and len(url) > MAX_URL_LENGTH:
        raise InvalidBody(f"url: at most {MAX_URL_LENGTH} characters", field="url")
    schedule = params.get("schedule")
    if schedule is not None and not SCHEDULE_ID_PATTERN.fullmatch(schedule):
        raise InvalidBody("schedule: a schedule id (`s` and 32 hex digits)", field="schedule")
    limit = page_limit(request)
    try:
        page = await list_jobs(state.redis, state.keys, caller.owner, cursor=params.get("cursor"), limit=limit,
                               where=JobFilter(status=status, type=job_type, url=url or None, schedule=schedule))
    except ValueError as exc:
        raise InvalidBody(str(exc), field="cursor") from exc
    jobs = [record.public(await signed_links(state, record.id)) for record in page.jobs]
    return JSONResponse({"jobs": jobs, "next_cursor": page.next_cursor})


async def retry(request: Request) -> Response:
    return await change_state(request, rerun_job)


def bulk_selection(body: Any, *, statuses: tuple[JobStatus, ...]) -> Selection:
    """`{"ids": [...]}` or a filter `{"status", "type", "cursor"}`: which of the caller's jobs a bulk call means."""
    if not isinstance(body, dict):
        raise InvalidBody("the body must be a JSON object", code="invalid_body")
    unknown = sorted(set(body) - {"ids", "status", "type", "cursor"})
    if unknown:
        raise InvalidBody(f"{unknown[0]}: not a field here (ids, status, type, cursor)", field=unknown[0])
    # A field that is there must be of its type: `null` is not "left out" (the document says so too).
    ids = body.get("ids")
    if "ids" in body and (not isinstance(ids, list) or not all(isinstance(i, str) and 0 < len(i) <= 64 for i in ids)
                            or len(ids) > MAX_BULK):
        raise InvalidBody(f"ids: a list of at most {MAX_BULK} job ids", field="ids")
    raw_status = body.get("status")
    if "status" in body and raw_status not in [s.value for s in statuses]:
        raise InvalidBody(f"status: one of {', '.join(s.value for s in statuses)}", field="status")
    job_type = body.get("type")
    if "type" in body and (not isinstance(job_type, str) or job_type not in REQUEST_MODELS):
        raise InvalidBody(f"type: one of {', '.join(sorted(REQUEST_MODELS))}", field="type")
    cursor = body.get("cursor")
    if "cursor" in body:
        try:
            if not isinstance(cursor, str):
                raise ValueError("cursor: the next_cursor of the previous call")
            parse_cursor(cursor)  # checked even when `ids` leave it unused
        except ValueError as exc:
            raise InvalidBody(str(exc), field="cursor") from exc
    return Selection(ids=list(dict.fromkeys(ids)) if ids is not None else None,
                     status=JobStatus(raw_status) if raw_status else None, type=job_type, cursor=cursor)


def bulk_answer(done_name: str, outcome: BulkOutcome) -> Response:
    return JSONResponse({done_name: outcome.done, "skipped": outcome.skipped, "next_cursor": outcome.next_cursor})


async def bulk_retry(request: Request) -> Response:
    """`POST /jobs/retry`: re-run the caller's failed (or cancelled) jobs, by ids or by filter."""
    state = app_state(request)
    caller = await authenticate(request)
    selection = bulk_selection(await read_json_body(request), statuses=(JobStatus.FAILED, JobStatus.CANCELLED))
    try:
        outcome = await rerun_jobs(state.redis, state.queue, caller.owner, selection, by="client")
    except ValueError as exc:
        raise InvalidBody(str(exc), field="cursor") from exc
    return bulk_answer("retried", outcome)


async def bulk_delete(request: Request) -> Response:
    """`POST /jobs/delete`: delete the caller's finished jobs, by ids or by filter; unfinished ones are skipped."""
    state = app_state(request)
    caller = await authenticate(request)
    finished = tuple(status for status in JobStatus if status.is_terminal)
    selection = bulk_selection(await read_json_body(request), statuses=finished)
    if selection.ids is None and selection.status is None:
        raise InvalidBody("ids or status: say which jobs to delete (e.g. {\"status\": \"failed\"})", field="ids")
    try:
        outcome = await delete_jobs(state.redis, state.keys, caller.owner, selection)
    except ValueError as exc:
        raise InvalidBody(str(exc), field="cursor") from exc
    return bulk_answer("deleted", outcome)


class JobsCollection:
    """`/jobs`: POST submits (the raw `SubmitEndpoint`), GET lists the caller's jobs. One route for both
    methods, so a 405 lists them all in `Allow`; the app hands POST to the endpoint before routing."""

    def __init__(self, submit: SubmitEndpoint) -> None:
        self.submit = submit
        self.list_jobs = request_response(list_owned_jobs)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.submit if scope["method"] == "POST" else self.list_jobs)(scope, receive, send)


# `/jobs/retry` and `/jobs/delete` take only POST; Starlette would hand their GET and DELETE to
# `/jobs/{id}` (a full match beats a method mismatch), which would answer "no job 'retry'".
BULK_PATHS = frozenset({"retry", "delete"})


async def job_resource(request: Request) -> Response:
    """`/jobs/{id}`: one route for both methods, so a 405 lists them all in `Allow`."""
    if request.path_params["job_id"] in BULK_PATHS:
        raise HTTPException(405, headers={"Allow": "POST"})
    return await (cancel if request.method == "DELETE" else get_job)(request)
