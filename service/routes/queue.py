"""`GET /queue` and `GET /metrics`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.queue.stats import queue_stats

from ..auth import authenticate
from ..state import app_state


async def queue(request: Request) -> Response:
    state = app_state(request)
    await authenticate(request)  # any valid key: the numbers are the whole service's
    return JSONResponse(await queue_stats(state.redis, state.keys))


async def metrics(request: Request) -> Response:
    state = app_state(request)
    try:
        stats = await queue_stats(state.redis, state.keys)
    except Exception:  # Redis down: still report what this process knows
        stats = None
    return Response(state.metrics.render(stats), media_type=CONTENT_TYPE_LATEST)
