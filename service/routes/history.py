"""`GET /queue/history`: jobs submitted, completed and failed per minute, and the queue depth seen."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.queue.history import MAX_MINUTES, read_history, record_depth
from jobs.queue.stats import queue_stats

from ..auth import authenticate
from ..state import app_state
from .jobs import query_number


async def queue_history(request: Request) -> Response:
    state = app_state(request)
    await authenticate(request)  # any valid key: the numbers are the whole service's, as /queue's
    minutes = query_number(request, "minutes", 60, minimum=1, maximum=MAX_MINUTES,
                           meaning=f"a whole number of minutes from 1 to {MAX_MINUTES}")
    # This minute's depth sample, so the chart's last point is now even when no dashboard follows.
    numbers = await queue_stats(state.redis, state.keys)
    await record_depth(state.redis, state.keys, int(numbers["queued"]["total"]))
    return JSONResponse({"minutes": await read_history(state.redis, state.keys, minutes)})
