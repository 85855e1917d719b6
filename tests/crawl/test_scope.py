"""Crawl scope: the start site (optionally its subdomains), and the client's path regexes."""

from __future__ import annotations

import pytest

from jobs.crawl import ScopeRules, compile_path_patterns


def test_same_host_by_default() -> None:
    scope = ScopeRules("https://example.com/docs/")
    assert scope.allows("https://example.com/pricing")
    assert scope.allows("http://example.com/pricing")  # http and https are one site
    assert scope.allows("https://www.example.com/about")  # so are www.host and host
    assert not scope.allows("https://docs.example.com/")
    assert not scope.allows("https://example.org/")
    assert not scope.allows("https://notexample.com/")
    assert not scope.allows("https://example.com.evil.net/")
    assert not scope.allows("https://example.com:8443/")  # another port is another site
    assert not scope.allows("mailto:team@example.com")


def test_subdomains_when_allowed() -> None:
    scope = ScopeRules("https://www.example.com/", allow_subdomains=True)
    assert scope.allows("https://example.com/a")
    assert scope.allows("https://docs.example.com/a")
    assert scope.allows("https://a.b.example.com/a")
    assert not scope.allows("https://badexample.com/")
    assert not scope.allows("https://example.com.evil.net/")
    assert not scope.allows("https://example.org/")


def test_subdomains_never_widen_past_the_start_host() -> None:
    scope = ScopeRules("https://docs.example.com/", allow_subdomains=True)
    assert scope.allows("https://v2.docs.example.com/")
    assert not scope.allows("https://example.com/")
    assert not scope.allows("https://blog.example.com/")


def test_an_ip_start_has_no_subdomains() -> None:
    scope = ScopeRules("http://127.0.0.1:8000/", allow_subdomains=True)
    assert scope.allows("http://127.0.0.1:8000/a")
    assert not scope.allows("http://127.0.0.1:8001/a")
    assert not scope.allows("http://1.127.0.0.1:8000/a")


def test_include_and_exclude_paths() -> None:
    scope = ScopeRules(
        "https://example.com/", include_paths=["^/blog/", "^/docs/"], exclude_paths=[r"/drafts?/", r"\.pdf$"]
    )
    assert scope.allows("https://example.com/blog/hello")
    assert scope.allows("https://example.com/docs/api?page=2")
    assert not scope.allows("https://example.com/shop/")  # not included
    assert not scope.allows("https://example.com/blog/drafts/x")  # exclusion wins
    assert not scope.allows("https://example.com/docs/manual.pdf")


def test_paths_are_matched_decoded() -> None:
    scope = ScopeRules("https://example.com/", include_paths=["^/caf\u00e9/"])
    assert scope.allows("https://example.com/caf%C3%A9/menu")
    assert scope.allows("https://example.com/caf\u00e9/menu")


def test_the_start_url_is_always_allowed() -> None:
    scope = ScopeRules("https://example.com/home", include_paths=["^/blog/"], exclude_paths=["^/home"])
    assert scope.allows("https://example.com/home", is_start=True)
    assert not scope.allows("https://example.com/home")
    assert not scope.allows("https://example.org/home", is_start=True)  # is_start waives paths, not the site


@pytest.mark.parametrize(
    ("field", "patterns", "message"),
    [
        ("include_paths", ["[unclosed"], "include_paths[0] is not a usable regular expression"),
        ("exclude_paths", ["^/ok", "(?=lookahead)"], "exclude_paths[1] is not a usable regular expression"),
        ("include_paths", [r"(a)\1"], "include_paths[0]"),
        ("include_paths", ["a" * 501], "include_paths[0] is longer than 500 characters"),
        ("exclude_paths", ["x"] * 101, "exclude_paths has 101 patterns"),
        ("include_paths", ["((a{1000}){1000}){1000}"], "include_paths[0] is not a usable"),
    ],
)
def test_bad_patterns_name_the_field(field: str, patterns: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        compile_path_patterns(patterns, field=field)
    with pytest.raises(ValueError, match=field):
        ScopeRules("https://example.com/", **{field: patterns})  # type: ignore[arg-type]


def test_a_string_is_not_a_list_of_patterns() -> None:
    with pytest.raises(ValueError, match="include_paths must be a list"):
        compile_path_patterns("^/blog/", field="include_paths")


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [(r"(a+)+$", False), (r"(a|aa)+$", False), (r"(.*a){20}", True), (r"^(\w+\s?)*$", False), (r"(x+x+)+y", False)],
)
def test_catastrophic_patterns_run_in_linear_time(pattern: str, matches: bool) -> None:
    """With Python's re, each of these takes hours on such a path; RE2 answers at once, and rightly."""
    # Short enough to be matched whole (URL and path caps), so the pattern really meets all of it.
    url = "https://example.com/" + "a" * 1990 + "!"
    assert ScopeRules("https://example.com/").allows(url)
    assert ScopeRules("https://example.com/", exclude_paths=[pattern]).allows(url) is not matches


def test_only_the_first_2000_characters_of_a_path_are_matched() -> None:
    scope = ScopeRules("https://example.com/", exclude_paths=["secret"])
    assert not scope.allows("https://example.com/" + "a" * 1900 + "/secret")
    assert scope.allows("https://example.com/" + "a" * 2000 + "/secret")


def test_a_garbage_start_url_is_refused() -> None:
    with pytest.raises(ValueError, match="not a crawlable URL"):
        ScopeRules("javascript:alert(1)")
