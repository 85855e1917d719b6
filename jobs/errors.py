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

    def __init_subclass__(cls, *, code: str, transient: bool = False, **kwargs: Any) -> None:
        # Each failure's stable code sits on its class line, next to its name.
        super().__init_subclass__(**kwargs)
        cls.code = code
        cls.transient = transient

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def is_transient(self) -> bool:
        """Whether another attempt could succeed (timeouts, resets, 5xx)."""
        return self.transient

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class InvalidURL(JobError, code="invalid_url"):
    """A URL that is not http(s), or not a URL at all."""


class BlockedAddress(JobError, code="blocked_address"):
    """A URL whose host resolves to an address jobs may not reach."""


class FetchTimeout(JobError, code="fetch_timeout", transient=True):
    """The target took longer than the job allows."""


class FetchError(JobError, code="fetch_error", transient=True):
    """The target could not be reached or broke off (DNS, connect, reset, redirects)."""

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        # Redirect loops and chains too long fail the same way every time: no retry.
        self._transient = transient

    @property
    def is_transient(self) -> bool:
        return self._transient


class HTTPStatusError(JobError, code="http_status"):
    """The target answered with an error status; 5xx and 429 may pass on another attempt."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def is_transient(self) -> bool:
        return self.status >= 500 or self.status == 429

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "status": self.status}


class TooLarge(JobError, code="too_large"):
    """A response over the size limit."""


class UnsupportedContent(JobError, code="unsupported_content"):
    """A response of a content type we cannot extract (a PDF, an image)."""


class RobotsDisallowed(JobError, code="robots_disallowed"):
    """The site's robots.txt forbids the page."""


class ExtractionError(JobError, code="extraction_error"):
    """The page was fetched but could not be turned into the asked formats."""


class LLMError(JobError, code="llm_error"):
    """The language model failed or answered with something unusable."""


class JobTimeout(JobError, code="job_timeout"):
    """The whole job ran past its time limit."""


class JobCancelled(JobError, code="cancelled"):
    """The job was cancelled while it ran."""


class InvalidPayload(JobError, code="invalid_payload"):
    """The job's arq payload is missing, not JSON, or does not fit the function it names."""


class InternalError(JobError, code="internal_error"):
    """A bug of ours, never a page's fault."""
