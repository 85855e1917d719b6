"""`GET /openapi.json` and `GET /docs`: the schema, and a page to read it, served without any CDN."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from ..openapi import ServerBounds, openapi_document
from ..state import app_state

ASSETS = Path(__file__).resolve().parent.parent / "apidocs"
CONTENT_TYPES = {"docs.js": "text/javascript", "docs.css": "text/css"}
# The page loads its own script and style and reads /openapi.json; nothing else.
CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(ServerBounds.of(app_state(request).settings)))


async def docs(request: Request) -> Response:
    return FileResponse(ASSETS / "docs.html", media_type="text/html", headers={"Content-Security-Policy": CSP})


async def docs_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in CONTENT_TYPES:
        return JSONResponse({"error": {"code": "not_found", "message": "no such file"}}, status_code=404)
    return FileResponse(ASSETS / name, media_type=CONTENT_TYPES[name])
