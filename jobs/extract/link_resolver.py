"""Resolve the URLs a page mentions against its base, fast.

`urllib.parse.urljoin` costs ~8 us a call here; a product page has 200+ links, so
the common shapes (already absolute, or root-relative) take a string fast path and
only the rest go through urljoin.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from jobs.extract.text_caps import MAX_URL_CHARS

# The common, already clean shapes: `http(s)://host/path` or `/path`, with no
# whitespace or backslash, an optional fragment after. Anything else, urljoin.
_SIMPLE = re.compile(r"(https?://[^/?#\s\\\[\]]+|/(?!/))([^#\s\\]*)(?:#.*)?", re.S)
# The URL Standard removes ASCII tab and newline anywhere in a URL.
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")


class URLResolver:
    """Turns hrefs into absolute http(s) URLs without fragments, against one base."""

    def __init__(self, base: str) -> None:
        self.base = base
        parts = urlsplit(base)
        self.origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    def resolve(self, href: str | None) -> str | None:
        """The absolute http(s) URL `href` points to, without its fragment; None if none."""
        if not href or len(href) > MAX_URL_CHARS:
            return None
        simple = _SIMPLE.fullmatch(href)
        if simple is not None and "/." not in href:  # dot segments need urljoin
            start, path = simple.group(1, 2)
            if start != "/":
                return start + path
            if self.origin:
                return self.origin + start + path
        return self._join(href)

    def _join(self, href: str) -> str | None:
        # As browsers do for http(s): tab/newline removed, backslashes read as slashes.
        href = href.strip(" \t\n\r\f\x00").translate(_TAB_NEWLINE).replace("\\", "/")
        href = href.split("#", 1)[0]
        if not href:  # a same-document fragment ("#reviews") is not a link to a resource
            return None
        try:
            absolute = urljoin(self.base, href)
            parts = urlsplit(absolute)  # validates what urljoin does not, e.g. "http://[::1"
        except ValueError:
            return None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        absolute = absolute.split("#", 1)[0]  # the base's own fragment, when href is a query
        return parts.scheme.lower() + absolute[len(parts.scheme) :].replace(" ", "%20")
