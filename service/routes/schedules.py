"""`/schedules`: make, list, read, change (pause, resume, cadence) and delete the caller's schedules."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.errors import JobError
from jobs.models import CrawlRequest, ScrapeRequest
from jobs.schedules.models import SchedulePatch, ScheduleRequest, ScheduleTiming
from jobs.schedules.store import (
    StoredSchedule,
    TooManySchedules,
    change_schedule,
    create_schedule,
    delete_schedule,
    list_schedules,
    load_schedule,
)
from jobs.schedules.timing import Cadence
from streams.events import now_ms

from ..auth import authenticate
from ..errors import Conflict, InvalidBody, NotFound, from_validation_error
from ..json_body import read_json_body
from ..state import AppState, app_state
from ..validation import check_request
from .jobs import SCHEDULE_ID_PATTERN, page_limit
from .submit import parse_job_request


def schedule_not_found(schedule_id: str) -> NotFound:
    # The same answer for "never existed", "deleted" and "not yours".
    return NotFound(f"no schedule {schedule_id[:64]!r}")


def _under_job(exc: InvalidBody) -> InvalidBody:
    """A job body's error, its field named as the schedule's body has it: `job.<field>`."""
    field = exc.extra.get("field")
    at = f"job.{field}" if field else "job"
    message = exc.message.removeprefix(f"{field}: ") if field else exc.message
    extra = {key: value for key, value in exc.extra.items() if key not in ("field", "details")}
    if isinstance(exc.extra.get("details"), list):
        extra["details"] = [{**detail, "field": f"job.{detail['field']}" if detail.get("field") else "job"}
                            for detail in exc.extra["details"]]
    return InvalidBody(f"{at}: {message}", code=exc.code, field=at, **extra)


async def checked_job(state: AppState, owner: str, body: dict[str, Any]) -> dict[str, Any]:
    """The job body checked exactly as `POST /jobs` checks it, errors naming `job.<field>`; what each run submits."""
    settings = state.settings
    try:
        request = parse_job_request(body)
        await check_request(request, settings=settings, policy=state.policy, redis=state.redis, keys=state.keys,
                            owner=owner, llm_configured=settings.llm_configured)
    except InvalidBody as exc:
        raise _under_job(exc) from exc
    except JobError as exc:
        field = getattr(exc, "field", None) or "url"
        raise InvalidBody(f"job.{field}: {exc.message}", code=exc.code, field=f"job.{field}") from exc
    for field in ("delay_s", "run_at"):
        if getattr(request, field) is not None:
            raise InvalidBody(f"job.{field}: a schedule's runs start at their ticks; leave it out",
                              field=f"job.{field}")
    if isinstance(request, ScrapeRequest | CrawlRequest):
        # Watching a page over time is what a schedule is for: every scheduled scrape and crawl tracks changes.
        request = request.model_copy(update={"track_changes": True})
    return request.model_dump(mode="json", by_alias=True, exclude_none=True)


def _timing(model: type[ScheduleTiming], body: Any) -> Any:
    if not isinstance(body, dict):
        raise InvalidBody("the body must be a JSON object", code="invalid_body")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise from_validation_error(exc) from exc


def _at_least_the_floor(state: AppState, cadence: Cadence) -> None:
    """SCHEDULE_MIN_EVERY_S: `every_s` below it, or a cron whose runs come closer, is a 422 naming the field."""
    floor = state.settings.schedule_min_every_s
    if cadence.every_s is not None and cadence.every_s < floor:
        raise InvalidBody(f"every_s: at least {floor} here (SCHEDULE_MIN_EVERY_S)", field="every_s")
    if cadence.cron is not None and (gap := cadence.shortest_gap_s(now_ms())) < floor:
        raise InvalidBody(f"cron: runs {gap:g} s apart; at least {floor} s here (SCHEDULE_MIN_EVERY_S)",
                          field="cron")


async def create(request: Request) -> Response:
    state = app_state(request)
    caller = await authenticate(request)
    spec: ScheduleRequest = _timing(ScheduleRequest, await read_json_body(request))
    cadence = Cadence(every_s=spec.every_s, cron=spec.cron, timezone=spec.timezone or "UTC",
                      jitter_s=spec.jitter_s or 0)
    _at_least_the_floor(state, cadence)
    job = await checked_job(state, caller.owner, spec.job)
    try:
        schedule = await create_schedule(state.redis, state.keys, owner=caller.owner, cadence=cadence, job=job,
                                         cap=state.settings.schedules_per_key)
    except TooManySchedules as exc:
        raise Conflict(f"{exc} (SCHEDULES_PER_KEY); delete one first", code="too_many_schedules") from exc
    return JSONResponse(schedule.public(), status_code=201, headers={"Location": f"/schedules/{schedule.id}"})


async def list_owned(request: Request) -> Response:
    state = app_state(request)
    caller = await authenticate(request)
    limit = page_limit(request)
    try:
        page = await list_schedules(state.redis, state.keys, caller.owner, cursor=request.query_params.get("cursor"),
                                    limit=limit)
    except ValueError as exc:
        raise InvalidBody(str(exc), field="cursor") from exc
    return JSONResponse({"schedules": [s.public() for s in page.schedules], "next_cursor": page.next_cursor})


async def owned_schedule(request: Request, state: AppState) -> StoredSchedule:
    """The schedule of the path, or the common 404; who calls is settled first (401 before any lookup)."""
    schedule_id = request.path_params["schedule_id"]
    owner = (await authenticate(request)).owner
    schedule = await load_schedule(state.redis, state.keys, owner, schedule_id) \
        if SCHEDULE_ID_PATTERN.fullmatch(schedule_id) else None
    if schedule is None:
        raise schedule_not_found(schedule_id)
    return schedule


def _new_cadence(state: AppState, old: Cadence, patch: SchedulePatch) -> Cadence | None:
    """The cadence a change asks for (None: unchanged), held to the floor."""
    if patch.every_s is not None:
        new = Cadence(every_s=patch.every_s, timezone=patch.timezone or old.timezone, jitter_s=old.jitter_s,
                      anchor_ms=old.anchor_ms)
    elif patch.cron is not None:
        new = Cadence(cron=patch.cron, timezone=patch.timezone or old.timezone, jitter_s=old.jitter_s,
                      anchor_ms=old.anchor_ms)
    elif patch.timezone is not None:
        new = replace(old, timezone=patch.timezone)
    elif patch.jitter_s is not None:
        return replace(old, jitter_s=patch.jitter_s)
    else:
        return None
    if patch.jitter_s is not None:
        new = replace(new, jitter_s=patch.jitter_s)
    _at_least_the_floor(state, new)
    return new


async def change(request: Request) -> Response:
    state = app_state(request)
    schedule = await owned_schedule(request, state)
    patch: SchedulePatch = _timing(SchedulePatch, await read_json_body(request))
    if not patch.model_fields_set:
        raise InvalidBody("the body says nothing to change: paused, every_s, cron, timezone or jitter_s",
                          code="invalid_body")
    changed = await change_schedule(state.redis, state.keys, schedule, paused=patch.paused,
                                    cadence=_new_cadence(state, schedule.cadence, patch))
    if changed is None:
        raise schedule_not_found(schedule.id)
    return JSONResponse(changed.public())


async def remove(request: Request) -> Response:
    state = app_state(request)
    schedule = await owned_schedule(request, state)
    if not await delete_schedule(state.redis, state.keys, schedule):
        raise schedule_not_found(schedule.id)
    return Response(status_code=204)


async def schedules_collection(request: Request) -> Response:
    """`/schedules`: one route for both methods, so a 405 lists them all in `Allow`."""
    return await (create if request.method == "POST" else list_owned)(request)


async def schedule_resource(request: Request) -> Response:
    """`/schedules/{id}`: one route for its three methods, so a 405 lists them all in `Allow`."""
    if request.method == "GET":
        state = app_state(request)
        return JSONResponse((await owned_schedule(request, state)).public())
    return await (change if request.method == "PATCH" else remove)(request)
