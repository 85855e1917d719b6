"""Which entries of a running crawl's or batch's page list a reader has not yet taken.

The pages of a job are a Redis list, each entry written in the same atomic
step as its `page` event, so an event means its entry can be read. A crawl
appends pages as it goes; a batch reserves one `pending` slot per URL and fills
them as pages finish, in any order. Each run of the job (`started`) begins a
new list: a batch's slots are reserved again in the same order, while a crawl
starts over and may meet its pages in another order, so a crawl's reader skips
the URLs it already handed out. Pages come out exactly once, in list order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.events import EventType

from ._sse import JobEvent

READ_SLICE = 100  # the most entries `GET /jobs/{id}/result` answers at once


@dataclass
class PageCursor:
    kind: str  # "crawl" or "batch"
    index: int = 0  # the next list entry to read
    announced: int = 0  # crawl: `page` events of this run
    done: set[int] = field(default_factory=set)  # batch: slots of this run that hold their page
    handed_out: set[str] = field(default_factory=set)  # crawl: URLs given to the reader
    rerun: bool = False  # crawl: a later run, whose list repeats pages handed out already

    def saw(self, event: JobEvent) -> bool:
        """Note an event of the job; True when there is something new to read."""
        if event.type == EventType.STARTED:
            if self.kind == "crawl":
                self.index, self.announced, self.rerun = 0, 0, bool(self.handed_out)
            else:
                self.done.clear()
            return False
        if event.type == EventType.RESYNC:
            return True  # events were trimmed away unseen: look at the list itself
        if event.type != EventType.PAGE:
            return False
        if self.kind == "crawl":
            self.announced += 1
            return self.announced > self.index
        slot = event.data.get("index") if isinstance(event.data, dict) else None
        if isinstance(slot, int):
            self.done.add(slot)
        return self.index in self.done or not isinstance(slot, int)

    def take(self, entries: list[dict[str, Any]], *, ended: bool) -> tuple[list[dict[str, Any]], bool]:
        """The entries of a slice read at `index` to hand out, and whether reading on may find more.

        Once the job has `ended`, a batch slot still pending is a page it never did: skipped.
        """
        taken: list[dict[str, Any]] = []
        for entry in entries:
            if self.kind == "batch" and entry.get("pending"):
                if not ended:
                    return taken, False  # in order: the pages after it wait for it
            elif self.kind == "crawl" and self.rerun and entry.get("url") in self.handed_out:
                pass
            else:
                taken.append(entry)
                if self.kind == "crawl":
                    self.handed_out.add(str(entry.get("url")))
            self.index += 1
        return taken, len(entries) == READ_SLICE
