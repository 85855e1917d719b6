"""`GET /schedules/{id}/changes`: the pages a schedule's runs found new or changed, newest first, with their diffs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.changes.history import read_history
from streams.events import format_stream_id, parse_stream_id

from ..errors import InvalidBody
from ..state import app_state
from .jobs import page_limit
from .schedules import owned_schedule


async def schedule_changes(request: Request) -> Response:
    """`{"changes": [...], "next_cursor"}`: a page of the history; someone else's schedule is the common 404."""
    state = app_state(request)
    schedule = await owned_schedule(request, state)
    limit = page_limit(request)
    cursor = request.query_params.get("cursor") or None
    before = parse_stream_id(cursor) if cursor is not None else None
    if cursor is not None and before is None:
        raise InvalidBody("cursor: the `next_cursor` of an earlier page", field="cursor")
    if before == (0, 0):  # nothing is older than the first id there can be
        return JSONResponse({"changes": [], "next_cursor": None})
    changes, next_cursor = await read_history(state.redis, state.keys, schedule.id,
                                              before=None if before is None else format_stream_id(before), limit=limit)
    return JSONResponse({"changes": changes, "next_cursor": next_cursor})
