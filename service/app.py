"""The Starlette app factory: `uvicorn service.app:create_app --factory`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from jobs.logs import configure_logging

from .body_limit import BodyLimit
from .errors import EXCEPTION_HANDLERS, error_response
from .gc_policy import hold_off_full_collections
from .routes.activity import activity_events, activity_link
from .routes.apidocs import docs, docs_asset, openapi
from .routes.dashboard import dashboard
from .routes.events import job_events
from .routes.health import health
from .routes.history import queue_history
from .routes.jobs import JobsCollection, bulk_delete, bulk_retry, get_result, job_resource, retry
from .routes.queue import metrics, queue
from .routes.schedule_changes import schedule_changes
from .routes.schedules import schedule_resource, schedules_collection
from .routes.submit import SubmitEndpoint
from .routes.workers import workers
from .settings import WebSettings
from .sse import SERVER_SEND
from .state import AppState

logger = logging.getLogger("scrapestream.service")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


Endpoint = Callable[[Request], Awaitable[Response]]


class DirectEndpoint:
    """A request/response endpoint run as an ASGI app of its own: no router, no exception middleware.

    Its mapped errors are answered by `service.errors.error_response` (what the
    app's handlers use too); anything else goes up to the 500 handler.
    """

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.endpoint(Request(scope, receive))
        except Exception as exc:
            answer = error_response(exc)
            if answer is None:
                raise  # a bug: the app's 500 handler answers it
            response = answer
        await response(scope, receive, send)


class ScrapestreamApp(Starlette):
    """Starlette, with hot paths that skip its router and exception middleware, under the app's own
    middleware and 500 handler all the same: `POST /jobs` (the submit endpoint, which also skips
    Request objects) and the two event streams, `GET /jobs/{id}/events` and `GET /events`. A
    follower holds its request for as long as it follows, and with it every layer it went through:
    the router's and the exception middleware's frames and wrappers were ~5 of a follower's ~22 KiB
    (bench/followers.py). SSE also keeps the server's own `send` (see `service.sse`)."""

    def __init__(self, *, submit: SubmitEndpoint, follow_job: Endpoint, follow_activity: Endpoint,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.direct: dict[str, ASGIApp] = {
            "submit": submit, "job": DirectEndpoint(follow_job), "activity": DirectEndpoint(follow_activity),
        }
        self.direct_stacks: dict[str, ASGIApp] | None = None  # made at the first request, as Starlette's own

    def under_middleware(self, app: ASGIApp) -> ASGIApp:
        """`app` under what `build_middleware_stack` puts above the router: the 500 handler and the
        app's middleware, the same classes with the same settings."""
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        handler = self.exception_handlers.get(500) or self.exception_handlers.get(Exception)
        return ServerErrorMiddleware(app, handler=handler, debug=self.debug)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        direct = direct_path(scope) if scope["type"] == "http" else None
        if direct is not None:
            if self.direct_stacks is None:
                self.direct_stacks = {name: self.under_middleware(app) for name, app in self.direct.items()}
            name, path_params = direct
            scope["app"] = self  # as Starlette and its router set them
            scope["path_params"] = path_params
            # The event streams write their bodies to the server's own `send`; a submit's scope goes
            # without it, which would tie its request cycle in a reference cycle (see service.sse).
            if name != "submit":
                scope[SERVER_SEND] = send
            await self.direct_stacks[name](scope, receive, send)
            return
        scope[SERVER_SEND] = send
        await super().__call__(scope, receive, send)


def direct_path(scope: Scope) -> tuple[str, dict[str, str]] | None:
    """Which hot path serves this request (and its path parameters), or None for the router."""
    method, path = scope["method"], scope["path"]
    if method == "POST" and path == "/jobs":
        return "submit", {}
    if method == "GET":
        if path == "/events":
            return "activity", {}
        if (job_id := followed_job(path)) is not None:
            return "job", {"job_id": job_id}
    return None


def followed_job(path: str) -> str | None:
    """The job id of `/jobs/{job_id}/events` (one segment, as the route matches it), else None."""
    parts = path.split("/")
    if len(parts) == 4 and parts[0] == "" and parts[1] == "jobs" and parts[2] and parts[3] == "events":
        return parts[2]
    return None


def create_app(settings: WebSettings | None = None) -> Starlette:
    settings = settings or WebSettings()
    if settings.log_format == "json":
        # uvicorn set up its loggers before it called this factory: they get the format too.
        configure_logging(settings.log_level, "json", loggers=UVICORN_LOGGERS)
    state = AppState.from_settings(settings)
    submit = SubmitEndpoint(state)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hold_off_full_collections()
        await state.start()
        try:
            yield
        finally:
            ticker = getattr(app.state, "queue_ticker", None)  # made at the first GET /events
            if ticker is not None:
                await ticker.stop()
            await state.aclose()

    routes = [
        Route("/jobs", JobsCollection(submit), methods=["GET", "POST"]),
        Route("/jobs/retry", bulk_retry, methods=["POST"]),
        Route("/jobs/delete", bulk_delete, methods=["POST"]),
        Route("/jobs/{job_id}", job_resource, methods=["GET", "DELETE"]),
        Route("/jobs/{job_id}/events", job_events, methods=["GET"]),
        Route("/jobs/{job_id}/result", get_result, methods=["GET"]),
        Route("/jobs/{job_id}/retry", retry, methods=["POST"]),
        Route("/schedules", schedules_collection, methods=["GET", "POST"]),
        Route("/schedules/{schedule_id}", schedule_resource, methods=["GET", "PATCH", "DELETE"]),
        Route("/schedules/{schedule_id}/changes", schedule_changes, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/queue", queue, methods=["GET"]),
        Route("/queue/history", queue_history, methods=["GET"]),
        Route("/events", activity_events, methods=["GET"]),
        Route("/events/link", activity_link, methods=["GET"]),
        Route("/workers", workers, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/docs/{name}", docs_asset, methods=["GET"]),
        Route("/", dashboard, methods=["GET"]),
    ]
    middleware = [Middleware(BodyLimit, max_bytes=settings.max_body_bytes)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PATCH", "DELETE"],
                allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
                expose_headers=["Location", "Retry-After"],
                max_age=600,
            )
        )
    app = ScrapestreamApp(
        submit=submit,
        follow_job=job_events,
        follow_activity=activity_events,
        routes=routes,
        middleware=middleware,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.scrapestream = state
    return app
