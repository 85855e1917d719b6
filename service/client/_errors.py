"""The SDK's exceptions, and the one place where httpx's errors become them.

    ScrapestreamError
    ├── TransportError           no HTTP answer: connect refused, reset, timeout (.request_sent)
    ├── APIError                 the server's error body (.status, .code, .message, .retry_after)
    │   ├── BadRequest           400
    │   ├── Unauthorized         401, 403
    │   ├── NotFound             404  unknown, expired, or someone else's job
    │   ├── Conflict             409  (.job: the record, when the server sends it)
    │   ├── InvalidRequest       422  (.field at fault)
    │   ├── RateLimited          429
    │   └── ServerError          5xx
    │       └── ServiceUnavailable  503
    ├── JobError                 the job ended without a result (.job_id, .code, .message, .job)
    │   ├── JobFailed
    │   └── JobCancelled
    ├── EventStreamLost          reconnecting gave up (.last_event_id resumes later)
    └── WaitTimeout              result(wait=True, timeout=...) ran out (also a TimeoutError)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from jobs.models import JobRecord
from jobs.retry_timing import retry_after_s


class ScrapestreamError(Exception):
    """Base of every error the SDK raises."""


class TransportError(ScrapestreamError):
    """No HTTP answer. `request_sent` is False when the request surely never left."""

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class APIError(ScrapestreamError):
    """The server answered `{"error": {"code", "message", ...}}` with an error status."""

    def __init__(
        self, status: int, code: str, message: str, *,
        body: Mapping[str, Any] | None = None, retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body: Mapping[str, Any] = body or {}
        self.retry_after = retry_after


class BadRequest(APIError):
    pass


class Unauthorized(APIError):
    pass


class NotFound(APIError):
    pass


class Conflict(APIError):
    @property
    def job(self) -> JobRecord | None:
        """The job record the server sends with a 409 (status and error)."""
        raw = self.body.get("job")
        return JobRecord.model_validate(raw) if isinstance(raw, dict) else None


class InvalidRequest(APIError):
    @property
    def field(self) -> str | None:
        error = self.body.get("error")
        return error.get("field") if isinstance(error, dict) else None


class RateLimited(APIError):
    pass


class ServerError(APIError):
    pass


class ServiceUnavailable(ServerError):
    pass


class JobError(ScrapestreamError):
    """The job ended `failed` or `cancelled`; `code` is one of the server's stable codes."""

    def __init__(self, job: JobRecord) -> None:
        self.job = job
        self.job_id = job.id
        self.code = job.error.code if job.error else job.status.value
        self.message = job.error.message if job.error else f"job {job.id} {job.status}"
        super().__init__(f"job {job.id} {job.status}: {self.code}: {self.message}")


class JobFailed(JobError):
    pass


class JobCancelled(JobError):
    pass


class EventStreamLost(ScrapestreamError):
    """Reconnecting gave up; `events(job_id, last_event_id=...)` resumes where it stopped."""

    def __init__(self, job_id: str, last_event_id: str | None, attempts: int) -> None:
        super().__init__(f"lost the events of job {job_id} after {attempts} reconnects "
                         f"(last event {last_event_id or 'none'})")
        self.job_id = job_id
        self.last_event_id = last_event_id
        self.attempts = attempts


class WaitTimeout(ScrapestreamError, TimeoutError):
    def __init__(self, job_id: str, timeout: float) -> None:
        super().__init__(f"job {job_id} did not finish within {timeout} s")
        self.job_id = job_id
        self.timeout = timeout


_ERRORS_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest, 401: Unauthorized, 403: Unauthorized, 404: NotFound, 409: Conflict,
    422: InvalidRequest, 429: RateLimited, 503: ServiceUnavailable,
}
# The request surely never reached the server: safe to send again, whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@contextlib.contextmanager
def network_errors() -> Iterator[None]:
    """The one place where httpx's exceptions become ours."""
    try:
        yield
    except httpx.HTTPError as exc:
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise TransportError(message, request_sent=not isinstance(exc, _NOT_SENT)) from exc


def api_error(response: httpx.Response) -> APIError:
    """Build the typed error from an error response (read in full)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code, message = str(error.get("code", "http_error")), str(error.get("message", ""))
    else:  # not our server talking (a proxy's error page, say)
        body = {}
        code, message = "http_error", f"{response.reason_phrase}: {response.text[:200]}"
    status = response.status_code
    kind = _ERRORS_BY_STATUS.get(status, ServerError if status >= 500 else APIError)
    return kind(status, code, message, body=body, retry_after=retry_after_s(response.headers.get("retry-after")))
