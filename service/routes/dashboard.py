"""`GET /`: the dashboard, one page with its script and styles inlined under a hash-based CSP.

The sources stay separate files in `service/static/`; they are inlined into the
HTML once, and the policy admits exactly those two blocks by their SHA-256, so
no other script or style can run, even one smuggled into the page by a hostile
title or URL. Trusted Types are enforced too: an `innerHTML` of a string throws.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

STATIC = Path(__file__).resolve().parent.parent / "static"


def csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def inline(html: str, name: str, tag: str, source: str) -> str:
    marker = f"<!-- inline: {name} -->"
    # A closing tag (or `<!--`) inside the source would end the block early or change how it parses.
    if marker not in html or f"</{tag}" in source.lower() or "<!--" in source:
        raise RuntimeError(f"cannot inline {name} into dashboard.html")
    return html.replace(marker, f"<{tag}>{source}</{tag}>")


@functools.cache
def dashboard_page() -> tuple[bytes, dict[str, str]]:
    """The page and its headers, built on first use."""
    script = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    style = (STATIC / "dashboard.css").read_text(encoding="utf-8")
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    html = inline(inline(html, "dashboard.css", "style", style), "dashboard.js", "script", script)
    policy = "; ".join([
        "default-src 'none'",
        f"script-src {csp_hash(script)}",
        f"style-src {csp_hash(style)}",
        "connect-src 'self'",  # fetch() and EventSource, to this server only
        "img-src 'self' data:",
        "base-uri 'none'",
        "form-action 'none'",  # the forms are sent by script
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ])
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        # The page links to scraped (possibly hostile) sites: they need not learn where the dashboard is.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return html.encode("utf-8"), headers


async def dashboard(request: Request) -> Response:
    body, headers = dashboard_page()
    return HTMLResponse(body, headers=headers)
