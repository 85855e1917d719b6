"""Which page entries a live crawl or batch hands out when the job runs again (`started` twice):
each page once, never a placeholder, in list order."""

from __future__ import annotations

from typing import Any

from service.client import JobEvent
from service.client._live_pages import PageCursor


def event(kind: str, **data: Any) -> JobEvent:
    return JobEvent("1-0", kind, data)


def entries(*urls: str) -> list[dict[str, Any]]:
    return [{"url": url} for url in urls]


def test_a_crawl_run_again_hands_out_only_the_pages_it_had_not() -> None:
    cursor = PageCursor("crawl")
    cursor.saw(event("started", attempt=1))
    assert cursor.saw(event("page", url="/a"))
    # The list already holds /b when /a's event is read: both are handed out.
    assert cursor.take(entries("/a", "/b"), ended=False) == (entries("/a", "/b"), False)
    assert not cursor.saw(event("page", url="/b"))  # handed out already: nothing to read
    # The second run starts a new list and meets its pages in another order.
    assert not cursor.saw(event("started", attempt=2))
    assert cursor.saw(event("page", url="/b", attempt=2))
    assert cursor.take(entries("/b", "/c"), ended=False) == (entries("/c"), False)
    assert cursor.take(entries("/a", "/d"), ended=True) == (entries("/d"), False)


def test_a_batch_hands_out_its_slots_in_order_and_skips_those_an_ended_job_never_filled() -> None:
    cursor = PageCursor("batch")
    cursor.saw(event("started", attempt=1))
    assert not cursor.saw(event("page", index=1))  # slot 0 is not done: nothing to hand out yet
    assert cursor.saw(event("page", index=0))
    slots = [{"url": "/0"}, {"url": "/1"}, {"url": "/2", "pending": True}]
    assert cursor.take(slots, ended=False) == (slots[:2], False)
    assert not cursor.saw(event("started", attempt=2))  # the same slots, reserved again
    assert not cursor.saw(event("page", index=0))
    rerun = [{"url": "/2", "pending": True}, {"url": "/3"}]
    assert cursor.take(rerun, ended=True) == ([{"url": "/3"}], False)
