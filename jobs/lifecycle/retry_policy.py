"""Which failures get another attempt, and after how long."""

from __future__ import annotations

from typing import Final

from jobs.errors import JobError
from jobs.retry_timing import backoff_delay_s

# Anywhere below the ceiling, but never under half the base: a retry is never immediate.
RETRY_JITTER: Final = (0.0, 1.0)


def should_retry(error: JobError, attempt: int, max_attempts: int) -> bool:
    """Transient failures (timeouts, resets, 5xx, 429) retry while attempts remain."""
    return error.is_transient and attempt < max_attempts


def retry_delay_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """The wait before the job's next attempt: uniform in [base/2, min(cap, base·2^(attempt-1))], in ms steps.

    Jitter spreads the retries of jobs that failed together (a site that went
    down for all of them) instead of sending them back at the same instant.
    """
    return round(backoff_delay_s(attempt, base_s=base_s, cap_s=cap_s, jitter=RETRY_JITTER, floor_s=base_s / 2), 3)
