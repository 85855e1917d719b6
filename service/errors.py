"""HTTP errors: one tree, mapped to `{"error": {"code", "message"}}` in one place.

    APIError                 status and code of every error answer
    ├── BadRequest           400 invalid_event_id     a Last-Event-ID that is no stream id
    ├── Unauthorized         401 unauthorized         no API key, or not a valid one
    ├── NotFound             404 not_found            unknown, expired, or someone else's job or schedule
    ├── Conflict             409 not_completed        the result of a job that has not completed
    │                            already_finished     cancelling a finished job
    │                            not_retryable        re-running a job that did not fail or stop
    │                            idempotency_conflict an Idempotency-Key reused with another body
    │                            too_many_schedules   a key with SCHEDULES_PER_KEY schedules makes another
    ├── PayloadTooLarge      413 too_large            a body over MAX_BODY_BYTES
    ├── UnsupportedMediaType 415 unsupported_media_type a body that is not JSON by its Content-Type
    ├── InvalidBody          422 invalid_body         empty, not JSON, not an object
    │                            validation_error     a field at fault (`field` names it)
    ├── RateLimited          429 rate_limited         over SUBMITS_PER_MINUTE (Retry-After)
    └── ServiceUnavailable   503 redis_unavailable    Redis unreachable (Retry-After)

Mapped here too: a `jobs.errors.JobError` raised while handling a request
answers 422 with its own stable code (`invalid_url`, `blocked_address` at
submit); Starlette's HTTPException answers its status with `not_found`,
`method_not_allowed`, `too_large`, `rate_limited`, else `http_error`; a
RedisError answers 503 `redis_unavailable`.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from jobs.errors import JobError

logger = logging.getLogger("scrapestream.service")


class APIError(Exception):
    status = 400
    code = "bad_request"

    def __init_subclass__(cls, *, status: int, code: str, **kwargs: Any) -> None:
        # Each error's status and default code sit on its class line, next to its name.
        super().__init_subclass__(**kwargs)
        cls.status = status
        cls.code = code

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        body: dict[str, Any] = {"error": error}
        for key, value in self.extra.items():
            # `job` rides next to the error (409 shows the record); the rest describes it.
            (body if key == "job" else error)[key] = value
        return body


class BadRequest(APIError, status=400, code="bad_request"):
    """A request the API cannot read (a Last-Event-ID that is no stream id)."""


class Unauthorized(APIError, status=401, code="unauthorized"):
    """No API key, or not a valid one; the answer says how to authenticate."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.headers = {"WWW-Authenticate": 'Bearer realm="scrapestream"'}


class NotFound(APIError, status=404, code="not_found"):
    """An unknown, expired, or someone else's job."""


class Conflict(APIError, status=409, code="conflict"):
    """A change the job's state refuses now."""


class PayloadTooLarge(APIError, status=413, code="too_large"):
    """A body over MAX_BODY_BYTES."""


class UnsupportedMediaType(APIError, status=415, code="unsupported_media_type"):
    """A body that is not JSON by its Content-Type."""


class InvalidBody(APIError, status=422, code="validation_error"):
    """A body that is empty, not JSON, not an object, or has a field at fault."""


class RateLimited(APIError, status=429, code="rate_limited"):
    """Over SUBMITS_PER_MINUTE."""


class ServiceUnavailable(APIError, status=503, code="unavailable"):
    """Redis unreachable."""


def job_not_found(job_id: str) -> NotFound:
    # The same answer for "never existed", "expired" and "not yours".
    return NotFound(f"no job {job_id[:64]!r}")


def from_validation_error(exc: ValidationError) -> InvalidBody:
    details = []
    for err in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in err["loc"]) or None
        details.append({"field": field, "message": err["msg"], "type": err["type"]})
    first = details[0] if details else {"field": None, "message": "invalid body"}
    where = f"{first['field']}: " if first["field"] else ""
    return InvalidBody(f"{where}{first['message']}", field=first["field"], details=details)


def _json(exc: APIError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers or None)


def _job_error(exc: JobError) -> Response:
    field = getattr(exc, "field", None) or ("url" if exc.code in ("invalid_url", "blocked_address") else None)
    return _json(InvalidBody(exc.message, code=exc.code, **({"field": field} if field else {})))


def _http_exception(exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
    error = APIError(str(exc.detail), code=codes.get(exc.status_code, "http_error"))
    error.status = exc.status_code
    error.headers = dict(exc.headers or {})
    return _json(error)


def _redis_error(exc: RedisError) -> Response:
    logger.warning("redis unavailable: %s", exc)
    error = ServiceUnavailable("the job store (Redis) is unreachable; try again shortly",
                               code="redis_unavailable")
    error.headers = {"Retry-After": "2"}
    return _json(error)


def error_response(exc: Exception) -> Response | None:
    """The answer to an error this API maps; None for anything else (a bug: the 500 handler's)."""
    if isinstance(exc, APIError):
        return _json(exc)
    if isinstance(exc, JobError):
        return _job_error(exc)
    if isinstance(exc, HTTPException):
        return _http_exception(exc)
    if isinstance(exc, RedisError):
        return _redis_error(exc)
    return None


async def handle_error(request: Request, exc: Exception) -> Response:
    """Starlette's handler for each mapped type; the raw `POST /jobs` calls `error_response` itself."""
    response = error_response(exc)
    assert response is not None  # registered for the mapped types only
    return response


EXCEPTION_HANDLERS = {error_type: handle_error for error_type in (APIError, JobError, HTTPException, RedisError)}
