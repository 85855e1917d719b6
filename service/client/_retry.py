"""When to send a request again, and how long to wait first."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from jobs.retry_timing import backoff_delay_s

from ._errors import APIError, ScrapestreamError, TransportError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long the SDK keeps trying after 429/503, 5xx and network errors.

    Waits grow exponentially from `base_s` (for events: the server's `retry:`
    hint) up to `cap_s`, with jitter; `Retry-After` wins when the server sends
    it. It gives up after `attempts` retries or `budget_s` seconds of trying.
    """

    attempts: int = 8
    budget_s: float = 60.0
    base_s: float = 0.5
    cap_s: float = 30.0


@dataclass(slots=True)
class Backoff:
    policy: RetryPolicy
    attempts: int = 0
    since: float | None = None

    def reset(self) -> None:
        self.attempts, self.since = 0, None

    def next_delay(self, retry_after: float | None, base_s: float | None = None) -> float | None:
        """The wait before the next try; None once the policy is spent."""
        now = time.monotonic()
        self.since = now if self.since is None else self.since
        if retry_after is not None:
            # A little on top of what the server asked, so clients told the same do not stampede.
            delay = retry_after * random.uniform(1.0, 1.2)
        else:
            delay = backoff_delay_s(self.attempts + 1, base_s=base_s or self.policy.base_s, cap_s=self.policy.cap_s,
                                    jitter=(0.5, 1.0))
        if self.attempts >= self.policy.attempts or now + delay - self.since > self.policy.budget_s:
            return None
        self.attempts += 1
        return delay


def retryable(exc: ScrapestreamError, method: str) -> bool:
    if isinstance(exc, TransportError):
        return method == "GET" or not exc.request_sent
    if isinstance(exc, APIError):
        # 429 and 503 say "not now" before doing anything; other 5xx may have done it.
        return exc.status in (429, 503) or (method == "GET" and exc.status >= 500)
    return False
