"""Which URLs a crawl may visit: the start site, and the paths the client picked.

The site is the start URL's host and port, with `www.host` and `host` the same
site. With `allow_subdomains`, any host ending in "." + that host (its leading
"www." removed) is in too: a crawl from www.example.com also visits
docs.example.com, but never example.org. This needs no public suffix list, at
the price of never widening past the start host: a crawl from
docs.example.com does not visit example.com.

`include_paths` / `exclude_paths` are client regexes, searched (not anchored:
write "^/blog/" to anchor) in the percent-decoded URL path; exclusion wins, and
the start URL is always visited. Client regexes are hostile input: Python's `re`
backtracks and has no timeout, so "(a|aa)+$" could hold a worker's event loop
for hours. They run on RE2 instead (google-re2: linear time, bounded program
size, no lookaround or backreferences), are at most 500 characters, and see at
most the first 2,000 characters of a path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from jobs.crawl.url_normalize import normalize_url
from jobs.re2_patterns import UnusablePattern, compile_client_pattern

MAX_PATTERN_CHARS = 500
MAX_PATTERNS = 100
MAX_PATH_CHARS = 2000


class ScopeRules:
    """Decides whether a URL belongs to a crawl."""

    def __init__(
        self,
        start_url: str,
        *,
        allow_subdomains: bool = False,
        include_paths: Sequence[str] = (),
        exclude_paths: Sequence[str] = (),
    ) -> None:
        start = normalize_url(start_url)
        if start is None:
            raise ValueError(f"not a crawlable URL: {start_url[:200]!r}")
        host, self.port = _host_port(start)
        self.host = host.removeprefix("www.")
        self.allow_subdomains = allow_subdomains and not _is_ip(self.host)
        self._include = compile_path_patterns(include_paths, field="include_paths")
        self._exclude = compile_path_patterns(exclude_paths, field="exclude_paths")

    def allows(self, url: str, *, is_start: bool = False) -> bool:
        """Whether to crawl `url`; path rules do not apply to the start URL."""
        normalized = normalize_url(url)
        if normalized is None:
            return False
        host, port = _host_port(normalized)
        if port != self.port or not self._site_allows(host):
            return False
        if is_start:
            return True
        path = unquote(urlsplit(normalized).path)[:MAX_PATH_CHARS]
        if any(pattern.search(path) for pattern in self._exclude):
            return False
        return not self._include or any(pattern.search(path) for pattern in self._include)

    def _site_allows(self, host: str) -> bool:
        host = host.removeprefix("www.")
        if host == self.host:
            return True
        return self.allow_subdomains and host.endswith("." + self.host)


def compile_path_patterns(patterns: Sequence[str], *, field: str) -> tuple[Any, ...]:
    """Compile client path regexes with RE2; ValueError names the field and the pattern at fault.

    Call it where the request is validated too, so a bad pattern is a 422, not a failed job.
    """
    if isinstance(patterns, str):
        raise ValueError(f"{field} must be a list of regular expressions, not a string")
    if len(patterns) > MAX_PATTERNS:
        raise ValueError(f"{field} has {len(patterns)} patterns; at most {MAX_PATTERNS} are allowed")
    compiled = []
    for i, pattern in enumerate(patterns):
        if not isinstance(pattern, str):
            raise ValueError(f"{field}[{i}] must be a string")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ValueError(f"{field}[{i}] is longer than {MAX_PATTERN_CHARS} characters")
        try:
            compiled.append(compile_client_pattern(pattern))
        except UnusablePattern as exc:
            raise ValueError(
                f"{field}[{i}] is not a usable regular expression ({exc.reason}); "
                "RE2 syntax: no lookaround or backreferences"
            ) from None
    return tuple(compiled)


def _host_port(normalized: str) -> tuple[str, int | None]:
    """Host and explicit port of a normalized URL (None: the scheme's default, so http ≡ https)."""
    authority = normalized.partition("://")[2].partition("/")[0].partition("?")[0]
    if authority.startswith("["):
        host, _, port = authority.partition("]")
        return host + "]", int(port[1:]) if port else None
    host, _, port = authority.partition(":")
    return host, int(port) if port else None


def _is_ip(host: str) -> bool:
    return host.startswith("[") or host.replace(".", "").isdigit()
