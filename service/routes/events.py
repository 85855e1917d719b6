"""`GET /jobs/{id}/events`: the job's stream over SSE (or as JSON history)."""

from __future__ import annotations

import logging

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import Request
from starlette.responses import Response

from jobs.store.records import StoredJob, load_job, load_record
from streams.events import MAX_ID_PART, Event, EventType, now_ms, parse_stream_id
from streams.replay import replay_events

from ..auth import check_access
from ..errors import BadRequest, InvalidBody
from ..links import signed_links
from ..sse import EventStreamResponse, encode_resync, reconnect_later
from ..state import AppState, app_state

logger = logging.getLogger("scrapestream.sse")

# What "Redis is unreachable" looks like to redis-py (refused, reset, timed out, still loading).
REDIS_UNREACHABLE = (RedisConnectionError, RedisTimeoutError)


def requested_last_id(request: Request) -> str | None:
    """`Last-Event-ID` header or `?last_event_id=`; they mean the same thing."""
    # Both are checked when both come: a bad one is refused even where the other would win.
    given = [raw for raw in (request.headers.get("last-event-id"), request.query_params.get("last_event_id"))
             if raw is not None and raw.strip() != ""]
    ids = [checked_event_id(raw) for raw in given]
    return ids[0] if ids else None


def checked_event_id(raw: str) -> str:
    parsed = parse_stream_id(raw)
    # Nothing can follow the greatest id, and Redis refuses a range that starts after it.
    if parsed is None or parsed == (MAX_ID_PART, MAX_ID_PART):
        raise BadRequest(f"not an event id: {raw[:64]!r} (expected e.g. 1732451234567-0, "
                         f"each part below 2^64)", code="invalid_event_id")
    return f"{parsed[0]}-{parsed[1]}"


def wants_json(request: Request) -> bool:
    requested = request.query_params.get("format")
    if requested is not None:
        if requested != "json":
            raise InvalidBody("format: only json (or no format, for text/event-stream)", field="format")
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


def history_gap(after_id: str | None, oldest: Event | None) -> bool:
    """Whether the follower would silently miss events: trimmed or expired history."""
    if oldest is None:
        return after_id is not None
    if after_id is None:
        return oldest.type != EventType.QUEUED  # the stream's first event was trimmed away
    return (parse_stream_id(after_id) or (0, 0)) < oldest.order


async def job_events(request: Request) -> Response:
    state = app_state(request)
    job_id = request.path_params["job_id"]
    after_id = requested_last_id(request)
    if wants_json(request):
        # Not EventSource: an outage is the usual 503 + Retry-After (the RedisError handler).
        return await history_json(request, state, job_id, after_id)
    try:
        return await event_stream(request, state, job_id, after_id)
    except REDIS_UNREACHABLE as exc:
        # EventSource stops for good on any status but 200; this keeps it reconnecting.
        logger.info("SSE follower of %s told to come back: Redis unreachable (%s)", job_id, exc)
        return reconnect_later(state.settings.sse_retry_ms)


async def readable_job(request: Request, state: AppState, job_id: str) -> StoredJob:
    # A thousand followers of one job attaching at once read its record once.
    return await check_access(
        request, state, job_id,
        lambda: state.records.get(job_id, lambda: load_job(state.redis, state.keys, job_id)), token_ok=True,
    )


async def history_json(request: Request, state: AppState, job_id: str, after_id: str | None) -> Response:
    await readable_job(request, state, job_id)
    events = await replay_events(state.redis, state.keys.events(job_id), after_id)
    return Response(orjson.dumps([event.to_dict() for event in events]), media_type="application/json")


async def event_stream(request: Request, state: AppState, job_id: str, after_id: str | None) -> Response:
    stored = await readable_job(request, state, job_id)
    record = stored.record
    terminal_id = stored.terminal_event_id
    saw_the_end = (
        terminal_id is not None
        and after_id is not None
        and (parse_stream_id(after_id) or (0, 0)) >= (parse_stream_id(terminal_id) or (0, 0))
    )
    if saw_the_end:
        # 204 tells EventSource to stop reconnecting.
        return Response(status_code=204)

    async def gap_frame(after: str | None, oldest: Event | None) -> bytes | None:
        if not history_gap(after, oldest):
            return None
        current = await load_record(state.redis, state.keys, job_id) or record
        data = orjson.dumps({"record": current.public(await signed_links(state, job_id)), "ts": now_ms()})
        return encode_resync(data)

    return EventStreamResponse(
        state.hub, state.keys.events(job_id), after_id, gap_frame=gap_frame, retry_ms=state.settings.sse_retry_ms,
        send_buffer_bytes=state.settings.sse_send_buffer_bytes,
    )
