"""The frontier: breadth first, each page once, never past the limit, bounded memory."""

from __future__ import annotations

import pytest

from jobs.crawl import Frontier


def test_breadth_first_even_when_links_arrive_out_of_order() -> None:
    frontier = Frontier(limit=100, max_depth=3)
    frontier.add("https://example.com/", 0)
    assert frontier.next_batch(10) == [("https://example.com/", 0)]
    frontier.add("https://example.com/deep", 2)  # a slow depth-1 page's link arrives first
    frontier.add("https://example.com/a", 1)
    frontier.add("https://example.com/b", 1)
    assert frontier.next_batch(2) == [("https://example.com/a", 1), ("https://example.com/b", 1)]
    assert frontier.next_batch(2) == [("https://example.com/deep", 2)]


def test_depth_is_bounded() -> None:
    frontier = Frontier(limit=100, max_depth=1)
    assert frontier.add("https://example.com/", 0)
    assert frontier.add("https://example.com/a", 1)
    assert not frontier.add("https://example.com/a/b", 2)
    assert not frontier.add("https://example.com/c", -1)


def test_each_page_once_whatever_its_spelling() -> None:
    frontier = Frontier(limit=100, max_depth=2)
    assert frontier.add("https://example.com/a?utm_source=x", 0)
    for variant in [
        "https://example.com/a",
        "https://EXAMPLE.com:443/a#top",
        "https://example.com/a/",
        "http://www.example.com/a",
        "https://example.com/./a",
    ]:
        assert not frontier.add(variant, 1), variant
    assert frontier.counts.seen == 1
    assert not frontier.add("javascript:void(0)", 1)


def test_the_limit_counts_pages_handed_out() -> None:
    frontier = Frontier(limit=3, max_depth=1)
    for i in range(10):
        frontier.add(f"https://example.com/{i}", 1)
    batch = frontier.next_batch(10)
    assert len(batch) == 3
    assert frontier.next_batch(10) == []  # three are in flight: the limit is spoken for
    for _ in batch:
        frontier.done()
    assert frontier.finished
    assert frontier.next_batch(10) == []
    assert frontier.counts.done == 3


def test_a_skipped_page_gives_its_place_back() -> None:
    frontier = Frontier(limit=2, max_depth=1)
    for i in range(5):
        frontier.add(f"https://example.com/{i}", 1)
    first = frontier.next_batch(2)
    frontier.done(counted=False)  # robots.txt said no to the first
    frontier.done()
    assert [url for url, _ in first] == ["https://example.com/0", "https://example.com/1"]
    assert frontier.next_batch(5) == [("https://example.com/2", 1)]
    frontier.done()
    assert frontier.finished


def test_finished_when_nothing_is_left() -> None:
    frontier = Frontier(limit=10, max_depth=1)
    frontier.add("https://example.com/", 0)
    assert not frontier.finished
    frontier.next_batch(1)
    assert not frontier.finished  # in flight: its links may still come
    frontier.done()
    assert frontier.finished


def test_the_queue_is_bounded() -> None:
    frontier = Frontier(limit=5, max_depth=1, max_queued=10)
    accepted = sum(frontier.add(f"https://example.com/{i}", 1) for i in range(1000))
    counts = frontier.counts
    assert accepted == 10
    assert counts.queued == 10
    assert counts.dropped == 990
    assert counts.seen == 10


def test_the_default_queue_is_twenty_per_page_of_the_limit() -> None:
    assert Frontier(limit=500, max_depth=1).max_queued == 10_000
    assert Frontier(limit=1, max_depth=1).max_queued == 1000


def test_a_redirect_to_a_page_already_handed_out_is_a_duplicate() -> None:
    frontier = Frontier(limit=10, max_depth=1)
    frontier.add("https://example.com/new", 0)
    frontier.add("https://example.com/old", 1)
    frontier.next_batch(2)
    assert not frontier.mark_redirected("https://example.com/old", "https://example.com/new")
    # A trailing-slash redirect lands on the same page, not a duplicate.
    assert frontier.mark_redirected("https://example.com/new", "https://example.com/new/")


def test_a_queued_page_reached_by_a_redirect_is_not_fetched_again() -> None:
    frontier = Frontier(limit=10, max_depth=1)
    frontier.add("https://example.com/old", 0)
    frontier.add("https://example.com/new", 1)
    assert frontier.next_batch(1) == [("https://example.com/old", 0)]
    assert frontier.mark_redirected("https://example.com/old", "https://example.com/new")
    assert frontier.next_batch(5) == []
    assert not frontier.add("https://example.com/new", 1)


def test_done_without_a_page_handed_out_is_a_bug() -> None:
    frontier = Frontier(limit=1, max_depth=0)
    with pytest.raises(RuntimeError):
        frontier.done()


@pytest.mark.parametrize(("limit", "max_depth"), [(0, 1), (1, -1)])
def test_nonsense_bounds_are_refused(limit: int, max_depth: int) -> None:
    with pytest.raises(ValueError):
        Frontier(limit=limit, max_depth=max_depth)
