"""`GET /events`: the lifecycle of every job of the caller, over SSE; `GET /events/link`: its browser URL.

The owner's activity stream (`Keyspace.owner_activity`) is written by the
scripts that publish each job's own lifecycle events, and served by the same
hub as the job streams: `id:` is the entry id, `Last-Event-ID` (or
`?last_event_id=`) resumes strictly after it, `resync` says history was
trimmed meanwhile. It has no terminal event: it stays open. Without an id it
starts with what happens from now on, and says where "now" is with an id-only
first frame (the newest entry's id, `0-0` for an empty stream): a client that
reconnects before any entry came resumes from there, missing nothing.
`?last_event_id=0` replays what is kept.

`EventSource` cannot send a key: `GET /events/link` gives a URL whose token is
signed for "activity:<owner>" (an HMAC like a job link's), read-only and
expiring, that opens this stream and nothing else.
"""

from __future__ import annotations

import logging
import time

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from streams.events import Event, now_ms, parse_stream_id

from ..auth import authenticate
from ..errors import Unauthorized
from ..queue_ticker import QueueTicker
from ..sse import EventStreamResponse, encode_position, encode_resync, reconnect_later
from ..state import AppState, app_state
from ..tokens import make_token, token_opens
from .events import REDIS_UNREACHABLE, requested_last_id

logger = logging.getLogger("scrapestream.sse")

# Job ids are hex: a job's token can never open this subject, nor this one a job.
_SUBJECT = "activity:"


def activity_token(secret: bytes, owner: str, ttl_s: int) -> str:
    """`<owner>.<expiry>.<signature>`: opens the owner's activity stream until it expires."""
    return f"{owner}.{make_token(secret, _SUBJECT + owner, ttl_s)}"


def token_owner(secret: bytes, token: str) -> str | None:
    """The owner a valid activity token was signed for; None for a bad, expired or tampered one."""
    owner, sep, rest = token.partition(".")
    if not sep or not owner or len(owner) > 100:
        return None
    return owner if token_opens(secret, _SUBJECT + owner, rest) else None


async def activity_owner(request: Request, state: AppState) -> str:
    """Whose activity: the token's owner, or the caller's (an API key, or `public`)."""
    token = request.query_params.get("token")
    if token is None:
        return (await authenticate(request)).owner
    owner = token_owner(await state.link_secret(), token)
    if owner is None:
        raise Unauthorized("this activity token is not valid (or expired): ask GET /events/link for a new one")
    return owner


def ticker(request: Request, state: AppState) -> QueueTicker:
    """The process's one queue ticker, made at the first follow."""
    found: QueueTicker | None = getattr(request.app.state, "queue_ticker", None)
    if found is None:
        found = QueueTicker(state.hub, state.redis, state.keys, state.settings.activity_queue_every_s)
        request.app.state.queue_ticker = found
    return found


def activity_gap(after_id: str | None, oldest: Event | None) -> bool:
    """Whether a resuming follower would silently miss entries: they were trimmed (or expired)."""
    if after_id is None or after_id == "0-0":
        return False  # from now on, or all that is kept: nothing is promised before that
    return oldest is None or (parse_stream_id(after_id) or (0, 0)) < oldest.order


async def activity_events(request: Request) -> Response:
    state = app_state(request)
    after_id = requested_last_id(request)
    owner = await activity_owner(request, state)
    key = state.keys.owner_activity(owner)
    try:
        if after_id is None:
            newest = await state.redis.xrevrange(key, count=1)
            # After `0-0` of a stream empty now is exactly what comes from now on.
            start = newest[0][0].decode() if newest else "0-0"
        else:
            start = after_id
    except REDIS_UNREACHABLE as exc:
        logger.info("activity follower of %s told to come back: Redis unreachable (%s)", owner, exc)
        return reconnect_later(state.settings.sse_retry_ms)

    async def first_frame(after: str | None, oldest: Event | None) -> bytes | None:
        """Where a follow "from now" starts; for a resuming one, whether it missed trimmed entries."""
        if after_id is None:
            return encode_position(start)
        if not activity_gap(after, oldest):
            return None
        data = {"message": "some of this activity was trimmed or expired; reload GET /jobs", "ts": now_ms()}
        return encode_resync(orjson.dumps(data))

    ticker(request, state).ensure_running()
    return EventStreamResponse(
        state.hub, key, start, gap_frame=first_frame, retry_ms=state.settings.sse_retry_ms,
        send_buffer_bytes=state.settings.sse_send_buffer_bytes,
    )


async def activity_link(request: Request) -> Response:
    state = app_state(request)
    owner = (await authenticate(request)).owner
    ttl_s = state.settings.token_ttl_s
    token = activity_token(await state.link_secret(), owner, ttl_s)
    expires_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + ttl_s))
    return JSONResponse({"url": f"/events?token={token}", "expires_at": expires_at})
