"""`GET /workers`: each live worker, and the jobs it runs or helps with now (as its leases name them)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.queue.stats import read_queue
from jobs.store.records import job_summaries
from jobs.worker.heartbeat import live_workers

from ..auth import authenticate
from ..state import app_state


async def workers(request: Request) -> Response:
    state = app_state(request)
    await authenticate(request)  # any valid key: like /queue, it describes the whole service
    roster = await live_workers(state.redis, state.keys)
    _, entries = await read_queue(state.redis, state.keys)
    # A worker taking part in a crawl another worker coordinates runs a part of it: the crawl shows on both.
    running = [entry for entry in entries if entry.holder and (entry.is_job or entry.is_part)]
    summaries = await job_summaries(state.redis, state.keys, [entry.job_id for entry in running])
    jobs_of: dict[str, list[dict[str, Any]]] = {}
    for entry, summary in zip(running, summaries, strict=True):
        jobs_of.setdefault(entry.holder or "", []).append(summary)
    for worker in roster:
        worker["jobs"] = jobs_of.get(worker["name"], [])
    return JSONResponse({"workers": roster})
