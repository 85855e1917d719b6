"""URL normalization: one spelling per page, None for what is not a crawlable page."""

from __future__ import annotations

import pytest

from jobs.crawl import dedupe_key, normalize_url
from jobs.crawl.url_normalize import TRACKING_PARAMS

BASE = "https://example.com/docs/guide/intro.html?x=1"

CASES: list[tuple[str, str | None, str | None]] = [
    # (url, base, expected)
    ("HTTP://Example.COM/Path", None, "http://example.com/Path"),
    ("https://EXAMPLE.com", None, "https://example.com/"),
    ("http://example.com:80/a", None, "http://example.com/a"),
    ("https://example.com:443/a", None, "https://example.com/a"),
    ("http://example.com:443/a", None, "http://example.com:443/a"),
    ("https://example.com:8443/a", None, "https://example.com:8443/a"),
    ("https://example.com/a#section-2", None, "https://example.com/a"),
    ("https://example.com/a?b=1#frag", None, "https://example.com/a?b=1"),
    ("https://example.com/a/", None, "https://example.com/a/"),
    ("https://example.com/a?", None, "https://example.com/a"),
    ("https://example.com/a?utm_source=news&utm_medium=mail", None, "https://example.com/a"),
    ("https://example.com/a?id=7&utm_campaign=x", None, "https://example.com/a?id=7"),
    ("https://example.com/a?UTM_Source=x&id=7", None, "https://example.com/a?id=7"),
    ("https://example.com/a?gclid=abc&fbclid=def&msclkid=g", None, "https://example.com/a"),
    ("https://example.com/a?mc_cid=1&mc_eid=2&_ga=3&_gl=4", None, "https://example.com/a"),
    ("https://example.com/a?ref=main", None, "https://example.com/a?ref=main"),
    ("https://example.com/a?b=2&a=1&c=3", None, "https://example.com/a?a=1&b=2&c=3"),
    ("https://example.com/a?tag=2&tag=1", None, "https://example.com/a?tag=2&tag=1"),
    ("https://example.com/a?a=1&&b=2", None, "https://example.com/a?a=1&b=2"),
    ("https://example.com/%7Euser/%61bc", None, "https://example.com/~user/abc"),
    ("https://example.com/a%2fb%3f", None, "https://example.com/a%2Fb%3F"),
    ("https://example.com/100%", None, "https://example.com/100%25"),
    ("https://example.com/caf\u00e9", None, "https://example.com/caf%C3%A9"),
    ("https://example.com/my file.html", None, "https://example.com/my%20file.html"),
    ("https://example.com/a/./b/../c", None, "https://example.com/a/c"),
    ("https://example.com/a/%2E%2E/b", None, "https://example.com/b"),
    ("https://example.com/a/b/..", None, "https://example.com/a/"),
    ("https://example.com./a", None, "https://example.com/a"),
    ("https://B\u00fccher.example/", None, "https://xn--bcher-kva.example/"),
    ("http://0x7f.1/", None, "http://127.0.0.1/"),
    ("  https://example.com/a\n ", None, "https://example.com/a"),
    # relative references, resolved against the page they were found on
    ("next.html", BASE, "https://example.com/docs/guide/next.html"),
    ("../api/", BASE, "https://example.com/docs/api/"),
    ("/pricing", BASE, "https://example.com/pricing"),
    ("?page=2", BASE, "https://example.com/docs/guide/intro.html?page=2"),
    ("//cdn.example.net/x.js", BASE, "https://cdn.example.net/x.js"),
    ("\\\\evil.example\\x", BASE, "https://evil.example/x"),
    ("https://other.example/a", BASE, "https://other.example/a"),
    # not pages we can crawl
    ("#top", BASE, None),
    ("", BASE, None),
    ("javascript:alert(1)", BASE, None),
    ("JavaScript:void(0)", None, None),
    ("mailto:someone@example.com", BASE, None),
    ("tel:+123456", BASE, None),
    ("data:text/html,<h1>x</h1>", None, None),
    ("ftp://example.com/file", None, None),
    ("file:///etc/passwd", None, None),
    ("https://user:pass@example.com/", None, None),
    ("https://exa mple.com/", None, None),
    ("http://[::1/", None, None),
    ("https://example.com:99999/", None, None),
    ("relative/without/base", None, None),
    ("https://example.com/" + "a" * 3000, None, None),
]


@pytest.mark.parametrize(("url", "base", "expected"), CASES)
def test_normalize_url(url: str, base: str | None, expected: str | None) -> None:
    assert normalize_url(url, base) == expected


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("url", [expected for _, _, expected in CASES if expected])
def test_normalizing_twice_changes_nothing(url: str) -> None:
    assert normalize_url(url) == url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "https://example.com/a/"),
        ("http://example.com/a", "https://example.com/a"),
        ("https://www.example.com/a", "https://example.com/a"),
        ("https://example.com/a?x=1", "https://example.com/a/?x=1"),
    ],
)
def test_variants_of_one_page_share_a_key(a: str, b: str) -> None:
    first, second = normalize_url(a), normalize_url(b)
    assert first is not None and second is not None
    assert dedupe_key(first) == dedupe_key(second)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.com/a", "https://example.com/b"),
        ("https://example.com/a", "https://example.com:8443/a"),
        ("https://example.com/a", "https://docs.example.com/a"),
        ("https://example.com/a?x=1", "https://example.com/a?x=2"),
        ("https://example.com/", "https://example.com/?page=2"),
    ],
)
def test_different_pages_keep_different_keys(a: str, b: str) -> None:
    first, second = normalize_url(a), normalize_url(b)
    assert first is not None and second is not None
    assert dedupe_key(first) != dedupe_key(second)


def test_the_tracking_list_is_the_documented_one() -> None:
    assert {"gclid", "fbclid", "mc_cid", "mc_eid", "_ga", "msclkid"} <= TRACKING_PARAMS
    assert "ref" not in TRACKING_PARAMS  # sites use it for content: a git branch
