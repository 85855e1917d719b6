"""The newest entries of a watched stream, kept encoded, so followers resuming within them skip Redis.

A crowd of followers attaching to one busy stream (a reconnect storm, a
dashboard opened by many) would each read and encode the same recent
history. `StreamTail` keeps what the hub already has: the frames it wrote
live and the histories it read, as the same bytes objects, never copies.

What makes it exact: a tail holds *every* entry of its stream after `start`,
with no hole, up to its newest. It is seeded from a history read (which is
contiguous after the id it was read from, or after the oldest entry left when
the stream was trimmed past that id), extended only by XREAD replies that
continue it, and trimmed only from the oldest end (which moves `start`).
`oldest` is an entry that was the stream's oldest when the tail was seeded:
at or before `start`, it answers "was history trimmed?" for a follower served
here, as Redis would, because a tail is kept smaller than half the stream's
MAXLEN and `MAXLEN ~` never keeps fewer entries than that (so the entries
just before `start` are still in Redis).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

from .events import Event

Encoded = tuple[Event, bytes]
"""An entry with its frame, encoded once however many followers it goes to."""


class StreamTail:
    """Every entry of one stream after `start`, oldest first, each with its frame; bounded in entries and bytes."""

    __slots__ = ("entries", "max_bytes", "max_entries", "oldest", "size", "start")

    def __init__(self, start: tuple[int, int], oldest: Event, *, max_entries: int, max_bytes: int) -> None:
        self.start = start
        self.oldest = oldest
        self.entries: list[Encoded] = []
        self.size = 0  # bytes of frames held
        self.max_entries = max_entries
        self.max_bytes = max_bytes

    @property
    def end(self) -> tuple[int, int]:
        """The newest id it holds everything up to."""
        return self.entries[-1][0].order if self.entries else self.start

    def covers(self, after: tuple[int, int]) -> bool:
        """Whether a follower resuming after `after` finds all it lacks here (up to `end`)."""
        return after >= self.start

    def since(self, after: tuple[int, int]) -> list[Encoded]:
        """The entries newer than `after` (which the tail covers)."""
        return self.entries[bisect_right(self.entries, after, key=lambda entry: entry[0].order):]

    def extend(self, entries: Sequence[Encoded], read_after: tuple[int, int]) -> int | None:
        """Add entries read strictly after `read_after`; the change in bytes held, or None if they leave a hole.

        A read that starts past `end` may have skipped entries in between: the
        tail can no longer vouch for them, and the caller drops it.
        """
        if read_after > self.end:
            return None
        before = self.size
        end = self.end
        for entry in entries:
            if entry[0].order > end:
                self.entries.append(entry)
                self.size += len(entry[1])
        self.shrink_to(self.max_bytes)
        return self.size - before

    def shrink_to(self, max_bytes: int) -> int:
        """Forget the oldest entries until at most `max_bytes` (and `max_entries`) are held; bytes freed."""
        if len(self.entries) <= self.max_entries and self.size <= max_bytes:
            return 0
        before = self.size
        # Trim a quarter below the bound at once, so a tail at its bound trims once per many appends.
        entry_goal = self.max_entries - self.max_entries // 4
        byte_goal = max_bytes - max_bytes // 4
        drop = 0
        while drop < len(self.entries) and (len(self.entries) - drop > entry_goal or self.size > byte_goal):
            self.size -= len(self.entries[drop][1])
            drop += 1
        if drop:
            self.start = self.entries[drop - 1][0].order
            del self.entries[:drop]
        return before - self.size
