"""The depth guard: pages of normal depth pass untouched, absurd depth is unwrapped."""

from __future__ import annotations

from jobs.extract.depth import estimated_depth, flatten_deep_nesting
from jobs.extract.text_caps import DEPTH_SCAN_MIN_TAGS, MAX_HTML_DEPTH


def test_normal_pages_are_returned_as_they_are() -> None:
    page = "<div><p>x</p></div>" * DEPTH_SCAN_MIN_TAGS
    assert flatten_deep_nesting(page) is page


def test_void_and_optional_end_tags_do_not_count_as_depth() -> None:
    page = "<ul>" + "<li><br><img src=x><BR><p>item" * 20_000 + "</ul>"
    assert estimated_depth(page) == 1
    assert flatten_deep_nesting(page) is page


def test_deep_nesting_is_cut_at_the_limit_and_text_is_kept() -> None:
    depth = 20_000
    page = "<div>" * depth + "text" + "</div>" * depth
    flat = flatten_deep_nesting(page)
    assert flat.count("<div>") == MAX_HTML_DEPTH
    assert flat.count("</div>") == MAX_HTML_DEPTH
    assert "text" in flat


def test_tags_inside_scripts_and_comments_are_not_counted() -> None:
    noise = "<script>" + "<div>" * 20_000 + "</script><!--" + "<div>" * 20_000 + "-->"
    page = noise + "<div><p>x</p></div>" * 5_000
    assert flatten_deep_nesting(page) == page


def test_links_left_open_are_not_depth() -> None:
    """A page that never closes its <a> tags is flat to a browser (a new <a> closes the
    last one); counting them as nesting would unwrap, and so lose, its links."""
    page = "".join(f'<a href="/p/{i}">product {i}' for i in range(20_000))
    assert flatten_deep_nesting(page) is page
