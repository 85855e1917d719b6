"""The service under test, for real: the app under uvicorn and an arq worker, in one loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from jobs.settings import Settings
from jobs.worker.runner import InstantWorker, build_worker
from service.app import create_app
from service.settings import WebSettings
from service.state import AppState

from .servers import serve_in_loop


@dataclass
class Stack:
    base_url: str
    state: AppState
    client: httpx.AsyncClient
    settings: WebSettings
    workers: list[InstantWorker]
    app: Any = None

    def app_routes(self) -> list[Any]:
        return list(self.app.routes)

    async def submit(self, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        response = await self.client.post("/jobs", json=body, **kwargs)
        assert response.status_code == 202, response.text
        data: dict[str, Any] = response.json()
        return data

    async def wait_terminal(self, job_id: str) -> list[dict[str, Any]]:
        """Follow the job's SSE stream to its end; returns the events."""
        return await self.wait_terminal_as(job_id, None)

    async def wait_terminal_as(self, job_id: str, headers: dict[str, str] | None) -> list[dict[str, Any]]:
        from .sse import read_sse

        return [event async for event in read_sse(self.client, f"/jobs/{job_id}/events", headers=headers)]


@contextlib.asynccontextmanager
async def running_worker(settings: Settings, **overrides: Any) -> AsyncIterator[InstantWorker]:
    worker = build_worker(settings, handle_signals=False, **overrides)
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def running_stack(settings: WebSettings, *, workers: int = 1) -> AsyncIterator[Stack]:
    app = create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        base_url = await stack.enter_async_context(serve_in_loop(app))
        started = [await stack.enter_async_context(running_worker(settings)) for _ in range(workers)]
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=30))
        yield Stack(base_url, app.state.scrapestream, client, settings, started, app)
