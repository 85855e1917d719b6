"""Crawl URLs: one spelling per resource, so the frontier fetches each page once.

`normalize_url` gives the URL to fetch: the fetcher's own canonical form
(`jobs.fetch.validate_url`: scheme and host lower case, IDNA, IPv4 spellings,
default port dropped, fragment dropped) plus RFC 3986 normalization
(percent-encoding, dot segments), tracking parameters removed and the query
sorted by name.

`dedupe_key` goes further, for the seen-set only: http and https, `www.host`
and `host`, and `/a` and `/a/` count as one page. The URL fetched keeps the
spelling the site linked, because sites disagree on which variant serves and
which redirects; the key just stops us fetching both.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from jobs.errors import JobError
from jobs.fetch import AddressPolicy, validate_url

MAX_URL_LENGTH = 2048  # as the fetcher: longer links are not crawled

# Dropped from every query: they only tell a site where a visitor came from, never
# what to show. `ref` is kept on purpose: sites use it for content (a git branch).
TRACKING_PARAMS: frozenset[str] = frozenset(
    {
        "_ga", "_gl", "_hsenc", "_hsmi", "__hsfp", "__hssc", "__hstc", "_openstat",
        "dclid", "fbclid", "gbraid", "gclid", "gclsrc", "hsctatracking", "igshid",
        "mc_cid", "mc_eid", "mkt_tok", "msclkid", "oly_anon_id", "oly_enc_id",
        "ref_src", "srsltid", "ttclid", "twclid", "vero_conv", "vero_id", "wbraid",
        "yclid",
    }
)
TRACKING_PREFIXES: tuple[str, ...] = ("utm_",)

# Any port passes here: which hosts and ports may be contacted is the fetcher's call.
_ANY_ADDRESS = AddressPolicy(allow_private=True, allowed_ports=None)
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """The canonical http(s) URL for `url` (resolved against `base`), or None.

    None for other schemes (javascript:, mailto:, data: ...), credentials in the
    URL, hosts no fetch could reach, and anything unparsable or over-long.
    """
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
        return None
    # As browsers read an href: surrounding blanks and inner tabs/newlines ignored,
    # inner spaces encoded (the fetcher refuses them raw).
    url = url.strip(" \t\n\r\f\x00").translate(_TAB_NEWLINE).replace(" ", "%20")
    if base is not None:
        head, sep, tail = url.partition("?")
        url = head.replace("\\", "/") + sep + tail  # as browsers do before the query
        if not url or url.startswith("#"):
            return None  # same-document reference, not another page
        try:
            url = urljoin(base, url)
        except ValueError:
            return None
    try:
        canonical = validate_url(url, _ANY_ADDRESS)
    except JobError:
        return None
    scheme, _, rest = canonical.partition("://")
    slash = rest.find("/")
    authority, tail = rest[:slash], rest[slash:]
    path, _, query = tail.partition("?")
    path = _remove_dot_segments(_normalize_percents(path))
    query = _normalize_query(query)
    normalized = f"{scheme}://{authority}{path}" + (f"?{query}" if query else "")
    return normalized if len(normalized) <= MAX_URL_LENGTH else None


def dedupe_key(url: str) -> str:
    """The seen-set key of a `normalize_url` result: scheme, `www.` and a trailing slash ignored."""
    rest = url.partition("://")[2].removeprefix("www.")
    location, question_mark, query = rest.partition("?")
    authority, _, path = location.partition("/")
    return f"{authority}/{path.removesuffix('/')}{question_mark}{query}"


def origin_of(url: str) -> str:
    """"scheme://host[:port]" of a `normalize_url` result."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.partition('/')[0]}"


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only tracks the visitor (see TRACKING_PARAMS)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _normalize_percents(text: str) -> str:
    """RFC 3986 6.2.2: unreserved characters decoded, other escapes upper case, a lone % escaped."""
    if "%" not in text:
        return text
    text = _LONE_PERCENT.sub("%25", text)

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return _PERCENT.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 5.2.4, for an absolute path: "/a/./b/../c" is "/a/c"."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")[1:]
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        elif segment == ".":
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _normalize_query(query: str) -> str:
    if not query:
        return ""
    params = []
    for param in query.split("&"):
        if not param:
            continue
        param = _normalize_percents(param)
        name = param.partition("=")[0]
        if not is_tracking_param(name):
            params.append((name, param))
    # Stable on the name alone: repeated names keep their order (`a=2&a=1` can mean a list).
    params.sort(key=lambda pair: pair[0])
    return "&".join(param for _, param in params)
