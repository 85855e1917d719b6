"""The crawl frontier: URLs waiting to be fetched, breadth first, in bounded memory.

It holds URLs, never pages. Memory is bounded whatever a site links to: at most
`max_queued` URLs wait (by default 20 per page of the limit, at least 1,000); a URL found when
the queue is full is dropped and counted in `dropped`. The seen-set holds
64-bit hashes of `dedupe_key`s, not strings, and stops growing at
twice `max_queued` plus the limit (later URLs are dropped too). A hash collision would
skip one page: with a random 64-bit hash and at most millions of keys, about
one chance in a million crawls.

Limit accounting: `next_batch` never hands out more than `limit` URLs that
still count. A URL handed out is "in flight" until `done(counted=...)`: a
fetched page counts; one skipped before fetching (robots.txt said no) gives
its place back, so `limit` pages can still be reached.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from jobs.crawl.url_normalize import dedupe_key, normalize_url

QUEUE_FACTOR = 20
MIN_QUEUE = 1000


@dataclass(frozen=True, slots=True)
class FrontierCounts:
    queued: int  # waiting to be handed out
    in_flight: int  # handed out, `done` not yet called
    done: int  # finished and counted toward the limit
    seen: int  # distinct URLs ever accepted
    dropped: int  # refused because the queue or the seen-set was full


class Frontier:
    """A breadth-first queue of (url, depth) with a seen-set and the page limit."""

    def __init__(self, *, limit: int, max_depth: int, max_queued: int | None = None) -> None:
        if limit < 1 or max_depth < 0:
            raise ValueError("limit must be at least 1 and max_depth at least 0")
        self.limit = limit
        self.max_depth = max_depth
        self.max_queued = max_queued if max_queued is not None else max(MIN_QUEUE, limit * QUEUE_FACTOR)
        self._max_seen = self.max_queued * 2 + limit
        # One queue per depth, so a slow page's links cannot jump ahead of shallower ones.
        self._levels: list[deque[str]] = [deque() for _ in range(max_depth + 1)]
        self._seen: set[int] = set()
        self._handed_out: set[int] = set()
        self._queued = 0
        self._in_flight = 0
        self._done = 0
        self._dropped = 0

    def add(self, url: str, depth: int) -> bool:
        """Queue `url` (normalized here) found `depth` hops from the start; False if not queued."""
        if not 0 <= depth <= self.max_depth:
            return False
        normalized = normalize_url(url)
        if normalized is None:
            return False
        key = hash(dedupe_key(normalized))
        if key in self._seen:
            return False
        if self._queued >= self.max_queued or len(self._seen) >= self._max_seen:
            self._dropped += 1
            return False
        self._seen.add(key)
        self._levels[depth].append(normalized)
        self._queued += 1
        return True

    def mark_redirected(self, url: str, final_url: str) -> bool:
        """Record where a fetch of `url` ended up; False if that page was already handed out.

        A False means the page is a duplicate: two links that redirect to one page.
        """
        final = normalize_url(final_url)
        if final is None:
            return True
        key = hash(dedupe_key(final))
        if key in self._handed_out:
            original = normalize_url(url)
            return original is not None and hash(dedupe_key(original)) == key
        self._handed_out.add(key)
        self._seen.add(key)  # a link to it found later is not queued again
        return True

    def next_batch(self, n: int) -> list[tuple[str, int]]:
        """Up to `n` URLs with their depth, shallowest first, within what is left of the limit."""
        batch: list[tuple[str, int]] = []
        room = min(n, self.limit - self._done - self._in_flight)
        for depth, level in enumerate(self._levels):
            while level and len(batch) < room:
                url = level.popleft()
                self._queued -= 1
                key = hash(dedupe_key(url))
                if key in self._handed_out:
                    continue  # reached meanwhile as the target of a redirect
                self._handed_out.add(key)
                batch.append((url, depth))
        self._in_flight += len(batch)
        return batch

    def done(self, *, counted: bool = True) -> None:
        """A URL from `next_batch` is finished; `counted=False` gives its place in the limit back."""
        if self._in_flight < 1:
            raise RuntimeError("done() called more often than URLs were handed out")
        self._in_flight -= 1
        if counted:
            self._done += 1

    @property
    def finished(self) -> bool:
        """True once the limit is reached, or nothing is queued or in flight."""
        return self._done >= self.limit or (self._queued == 0 and self._in_flight == 0)

    @property
    def counts(self) -> FrontierCounts:
        return FrontierCounts(
            queued=self._queued,
            in_flight=self._in_flight,
            done=self._done,
            seen=len(self._seen),
            dropped=self._dropped,
        )
