"""Every way a job can fail, each with a stable code.

    JobError                      (code, message, transient)
    ├── InvalidURL                invalid_url
    ├── BlockedAddress            blocked_address
    ├── FetchTimeout              fetch_timeout        transient
    ├── FetchError                fetch_error          transient
    ├── HTTPStatusError           http_status          transient for 5xx and 429
    ├── TooLarge                  too_large
    ├── UnsupportedContent        unsupported_content
    ├── RobotsDisallowed          robots_disallowed
    ├── ExtractionError           extraction_error
    ├── LLMError                  llm_error
    ├── JobTimeout                job_timeout
    ├── JobCancelled              cancelled
    ├── InvalidPayload            invalid_payload     arq's queue held a payload no worker can run
    └── InternalError             internal_error      a bug of ours, never a page's fault

Errors from libraries below (httpx, redis, openai ...) are translated into
this tree where they are caught, and raised `from exc`. The codes are part of
the HTTP contract and of the event schema: never rename one.
"""

from __future__ import annotations

from typing import Any, ClassVar


class JobError(Exception):
    """A failure a client should see, with a stable `code`."""

    code: ClassVar[str] = "job_error"
    transient: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def is_transient(self) -> bool:
        """Whether another attempt could succeed (timeouts, resets, 5xx)."""
        return self.transient

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class InvalidURL(JobError):
    code = "invalid_url"


class BlockedAddress(JobError):
    code = "blocked_address"


class FetchTimeout(JobError):
    code = "fetch_timeout"
    transient = True


class FetchError(JobError):
    code = "fetch_error"
    transient = True

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        # Redirect loops and chains too long fail the same way every time: no retry.
        self._transient = transient

    @property
    def is_transient(self) -> bool:
        return self._transient


class HTTPStatusError(JobError):
    code = "http_status"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def is_transient(self) -> bool:
        return self.status >= 500 or self.status == 429

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status": self.status}


class TooLarge(JobError):
    code = "too_large"


class UnsupportedContent(JobError):
    code = "unsupported_content"


class RobotsDisallowed(JobError):
    code = "robots_disallowed"


class ExtractionError(JobError):
    code = "extraction_error"


class LLMError(JobError):
    code = "llm_error"


class JobTimeout(JobError):
    code = "job_timeout"


class JobCancelled(JobError):
    code = "cancelled"


class InvalidPayload(JobError):
    """The job's arq payload is missing, not JSON, or does not fit the function it names."""

    code = "invalid_payload"


class InternalError(JobError):
    code = "internal_error"
