"""Which failures get another attempt, and after how long."""

from __future__ import annotations

import random

from jobs.errors import JobError


def should_retry(error: JobError, attempt: int, max_attempts: int) -> bool:
    """Transient failures (timeouts, resets, 5xx, 429) retry while attempts remain."""
    return error.is_transient and attempt < max_attempts


def backoff_s(attempt: int, *, base_s: float, cap_s: float) -> float:
    """Exponential backoff with full jitter: uniform in [base/2, base·2^(attempt-1)], capped.

    Jitter spreads the retries of jobs that failed together (a site that went
    down for all of them) instead of sending them back at the same instant.
    """
    ceiling = min(cap_s, base_s * 2 ** max(attempt - 1, 0))
    return round(random.uniform(min(base_s / 2, ceiling), ceiling), 3)
