"""HTTP errors: one tree, mapped to `{"error": {"code", "message"}}` in one place.

    APIError                 (status, code)
    ├── NotFound             404 not_found        unknown, expired, or someone else's job
    ├── Conflict             409 conflict / not_completed / already_finished
    ├── InvalidBody          422 invalid_body / validation_error / invalid_url / blocked_address
    ├── BadRequest           400 bad_request
    └── ServiceUnavailable   503 redis_unavailable

Job failures (`jobs.errors.JobError`) raised while handling a request keep
their own stable codes (e.g. `invalid_url` at submit answers 422).
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


class BadRequest(APIError):
    status = 400
    code = "bad_request"


class NotFound(APIError):
    status = 404
    code = "not_found"


class Conflict(APIError):
    status = 409
    code = "conflict"


class InvalidBody(APIError):
    status = 422
    code = "validation_error"


class ServiceUnavailable(APIError):
    status = 503
    code = "unavailable"


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


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, APIError)
    return _json(exc)


async def handle_job_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, JobError)
    field = getattr(exc, "field", None) or ("url" if exc.code in ("invalid_url", "blocked_address") else None)
    error = InvalidBody(exc.message, code=exc.code, **({"field": field} if field else {}))
    return _json(error)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 429: "rate_limited"}
    error = APIError(str(exc.detail), code=codes.get(exc.status_code, "http_error"))
    error.status = exc.status_code
    error.headers = dict(exc.headers or {})
    return _json(error)


async def handle_redis_error(request: Request, exc: Exception) -> Response:
    logger.warning("redis unavailable: %s", exc)
    error = ServiceUnavailable("the job store (Redis) is unreachable; try again shortly",
                               code="redis_unavailable")
    error.headers = {"Retry-After": "2"}
    return _json(error)


EXCEPTION_HANDLERS = {
    APIError: handle_api_error,
    JobError: handle_job_error,
    HTTPException: handle_http_exception,
    RedisError: handle_redis_error,
}
