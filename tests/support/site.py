"""A fixture website on loopback: product pages, slow pages, failing pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"

PLAIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Plain page</title><meta name="description" content="A page for tests"></head>
<body><nav><a href="/nav-link">Nav</a></nav><main><h1>Hello</h1>
<p>This is the main text of a plain test page, long enough to count as content.</p>
<p><a href="/next">Next page</a></p></main><footer>Footer text</footer></body></html>"""


async def fixture_page(request: Request) -> Response:
    name = request.path_params["name"]
    path = (PAGES / name).resolve()
    if path.parent != PAGES or not path.is_file():
        return PlainTextResponse("no such fixture", status_code=404)
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8")


async def plain(request: Request) -> Response:
    return HTMLResponse(PLAIN_PAGE)


async def slow(request: Request) -> Response:
    """Answers after `?s=` seconds (a page the worker is still fetching when we cancel)."""
    await asyncio.sleep(float(request.query_params.get("s", "30")))
    return HTMLResponse(PLAIN_PAGE)


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    return PlainTextResponse(f"status {code}", status_code=code)


async def pdf(request: Request) -> Response:
    return Response(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" * 20, media_type="application/pdf")


async def endless(request: Request) -> Response:
    async def chunks():  # type: ignore[no-untyped-def]
        block = b"<p>" + b"x" * 65_536 + b"</p>"
        # Stop when the client hangs up: writes to a closed connection do not
        # suspend, and this loop would otherwise hog the fixture server.
        while not await request.is_disconnected():
            yield block

    return StreamingResponse(chunks(), media_type="text/html")


# Requests seen per `?key=`, so tests can tell whether (and how often) a page was fetched.
HITS: dict[str, int] = {}


async def flaky(request: Request) -> Response:
    """503 for the first `?fail=` requests with this `?key=`, then the plain page."""
    key = request.query_params.get("key", "")
    HITS[key] = HITS.get(key, 0) + 1
    if HITS[key] <= int(request.query_params.get("fail", "2")):
        return PlainTextResponse("try again later", status_code=503)
    return HTMLResponse(PLAIN_PAGE)


async def counted(request: Request) -> Response:
    key = request.query_params.get("key", "")
    HITS[key] = HITS.get(key, 0) + 1
    return HTMLResponse(PLAIN_PAGE)


async def trickle(request: Request) -> Response:
    """One byte every half second, for ever (or until the client hangs up)."""

    async def drip():  # type: ignore[no-untyped-def]
        yield b"<html><body>"
        while not await request.is_disconnected():
            await asyncio.sleep(0.5)
            yield b"."

    return StreamingResponse(drip(), media_type="text/html")


async def redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params.get("to", "/plain"), status_code=302)


def site_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/pages/{name}", fixture_page),
            Route("/plain", plain),
            Route("/slow", slow),
            Route("/status/{code:int}", status),
            Route("/doc.pdf", pdf),
            Route("/endless", endless),
            Route("/redirect", redirect),
            Route("/flaky", flaky),
            Route("/counted", counted),
            Route("/trickle", trickle),
        ]
    )
