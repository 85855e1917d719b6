"""How long to wait before trying again: exponential backoff, and a server's Retry-After.

Standard library only, so the SDK imports it as well as the worker. Each caller
passes its own schedule:

    job retries    RETRY_BASE_S doubling to RETRY_MAX_DELAY_S, drawn below that ceiling
    webhooks       1, 2, 4 … 600 s, ±20 %
    LLM requests   retry_backoff_s doubling, no jitter, at most 8 s
    SDK            0.5 s doubling to 30 s, drawn in the upper half below the ceiling
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from typing import Final

MAX_RETRY_AFTER_S: Final = 86_400.0
"""A Retry-After longer than a day is read as a day: callers cap it further, and nothing waits longer."""

# 2 ** 512 times any sane base is far past any cap, and 2.0 ** 1024 would overflow.
_MAX_DOUBLINGS: Final = 512
# RFC 9110: delta-seconds = 1*DIGIT, and DIGIT is ASCII 0-9 only. str.isdigit() would
# also take '²' or '١٢', which int() and float() then refuse (or read as another number).
_DELTA_SECONDS: Final = re.compile(r"[0-9]+")


def backoff_delay_s(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    jitter: tuple[float, float] = (1.0, 1.0),
    floor_s: float = 0.0,
) -> float:
    """The wait after failed attempt `attempt` (1-based).

    The ceiling is `base_s` doubled per attempt, at most `cap_s`; the wait is drawn
    uniformly between `jitter[0]` and `jitter[1]` times that ceiling, never below
    `floor_s` (unless the ceiling itself is) and never above `cap_s`. Jitter spreads
    the retries of clients that failed together instead of sending them back at once.
    """
    if attempt < 1:
        raise ValueError(f"attempts count from 1, not {attempt}")
    ceiling = min(cap_s, base_s * 2.0 ** min(attempt - 1, _MAX_DOUBLINGS))
    low, high = jitter
    return min(cap_s, random.uniform(max(ceiling * low, min(floor_s, ceiling)), ceiling * high))


def retry_after_s(value: str | None, *, now: float | None = None) -> float | None:
    """A Retry-After header in seconds from `now` (default: the wall clock), at most MAX_RETRY_AFTER_S.

    Delta-seconds in ASCII digits, or an HTTP-date (a date in the past is 0). Anything
    else — absent, negative, fractional, exponent, other scripts' digits — is None:
    the caller falls back to its own backoff rather than failing over a header.
    """
    if value is None:
        return None
    value = value.strip(" \t")  # the optional whitespace HTTP allows around a field value
    if _DELTA_SECONDS.fullmatch(value):
        # float(), not int(): int() refuses more than 4300 digits, float() reads them as inf.
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT; one without a zone is not an HTTP-date
        return None
    wait = when.timestamp() - (time.time() if now is None else now)
    return min(max(wait, 0.0), MAX_RETRY_AFTER_S)
