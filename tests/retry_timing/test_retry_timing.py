"""The one backoff helper and the one Retry-After parser, with each caller's schedule."""

from __future__ import annotations

import email.utils

import pytest

from jobs.lifecycle.retry_policy import retry_delay_s
from jobs.retry_timing import MAX_RETRY_AFTER_S, backoff_delay_s, retry_after_s

NOW = 1_700_000_000.0


def test_job_retries_double_from_the_base_and_are_drawn_below_the_ceiling() -> None:
    """README: "Delays double from RETRY_BASE_S up to RETRY_MAX_DELAY_S, each drawn at random below that ceiling"."""
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (40, 60.0), (10_000, 60.0)]:
        delays = {retry_delay_s(attempt, base_s=1.0, cap_s=60.0) for _ in range(200)}
        assert all(0.5 <= delay <= ceiling for delay in delays), (attempt, min(delays), max(delays))
        assert len(delays) > 20  # jittered, not one fixed value
        assert all(delay == round(delay, 3) for delay in delays)


def test_without_jitter_the_delay_is_the_doubling_ceiling() -> None:
    assert [backoff_delay_s(n, base_s=0.5, cap_s=8.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert backoff_delay_s(3, base_s=0.0, cap_s=8.0) == 0.0


def test_jitter_above_the_ceiling_is_still_capped() -> None:
    delays = [backoff_delay_s(30, base_s=1.0, cap_s=600.0, jitter=(0.8, 1.2)) for _ in range(500)]
    assert all(480.0 <= delay <= 600.0 for delay in delays)
    assert 600.0 in delays  # half the draws land above the cap and are cut to it


@pytest.mark.parametrize("attempt", [0, -1])
def test_attempts_count_from_one(attempt: int) -> None:
    with pytest.raises(ValueError, match="count from 1"):
        backoff_delay_s(attempt, base_s=1.0, cap_s=60.0)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("5", 5.0),
        (" 5 ", 5.0),
        ("\t120", 120.0),
        ("0", 0.0),
        ("007", 7.0),
        ("3600", 3600.0),
        ("99999999999", MAX_RETRY_AFTER_S),
        ("9" * 5000, MAX_RETRY_AFTER_S),  # int() refuses this many digits
    ],
)
def test_delta_seconds(header: str, seconds: float) -> None:
    assert retry_after_s(header, now=NOW) == seconds


@pytest.mark.parametrize(
    "header",
    [
        "²",  # str.isdigit() says yes, int() says no
        "١٢",  # Arabic-Indic twelve: int() would read it as 12, HTTP does not
        "-1",
        "+5",
        "1e3",
        "1.5",
        "nan",
        "inf",
        "5 s",
        "5, 5",  # a repeated header, joined
        "\u00a05",  # a no-break space is not HTTP whitespace
        "",
        "soon",
        "Wed, 21 Oct 2015 07:28:00",  # a date without a zone is not an HTTP-date
        "Mon, 01 Jan 99999 00:00:00 GMT",
    ],
)
def test_anything_else_is_none(header: str) -> None:
    assert retry_after_s(header, now=NOW) is None


def test_absent_is_none() -> None:
    assert retry_after_s(None) is None


def test_an_http_date_is_the_seconds_until_then() -> None:
    assert retry_after_s(email.utils.formatdate(NOW + 90, usegmt=True), now=NOW) == 90.0
    assert retry_after_s("Sun, 06 Nov 1994 08:49:37 GMT", now=NOW) == 0.0  # already past: go now
    assert retry_after_s(email.utils.formatdate(NOW + 10 * 86_400, usegmt=True), now=NOW) == MAX_RETRY_AFTER_S
