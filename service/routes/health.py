"""`GET /health`: is Redis reachable, and how many workers are alive."""

from __future__ import annotations

import asyncio

from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.worker.heartbeat import count_live_workers

from ..state import app_state


async def health(request: Request) -> Response:
    state = app_state(request)
    try:
        async with asyncio.timeout(2):
            workers = await count_live_workers(state.redis, state.keys)
    except (RedisError, OSError, TimeoutError) as exc:
        body = {"status": "unavailable", "redis": "unreachable", "workers": None,
                "error": {"code": "redis_unavailable", "message": str(exc)[:200]}}
        return JSONResponse(body, status_code=503, headers={"Retry-After": "2"})
    return JSONResponse({"status": "ok", "redis": "ok", "workers": workers})
