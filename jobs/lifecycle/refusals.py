"""A change to a job that its state refuses now (cancel a finished job, re-run a running one)."""

from __future__ import annotations

from typing import Any, ClassVar

from jobs.models import JobRecord


class WrongState(Exception):
    """The job is not in a state this change allows; `record` is the job as it is now.

    `code` is the HTTP error code a client sees (with a 409), `why` the message,
    formatted with the job's `id` and `status`.
    """

    code: ClassVar[str]
    why: ClassVar[str]

    def __init_subclass__(cls, *, code: str, why: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = code
        cls.why = why

    def __init__(self, record: JobRecord) -> None:
        super().__init__(self.why.format(id=record.id, status=record.status.value))
        self.record = record
