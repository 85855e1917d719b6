"""JSON request bodies: 415 for a body of another media type, 422 for one that does not parse."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from .errors import InvalidBody, UnsupportedMediaType

EXAMPLE_BODY = '{"type": "scrape", "url": "https://example.com/"}'


def is_json_media_type(content_type: str) -> bool:
    """application/json, or any `+json` type; parameters (charset) aside."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def check_json_media_type(content_type: str | None) -> None:
    """Checked before the body is read. No Content-Type at all is read as JSON; a form (curl -d's
    default) or any other type is refused by name."""
    if content_type is not None and not is_json_media_type(content_type):
        raise UnsupportedMediaType(
            f"the body is {content_type.split(';', 1)[0].strip()[:80] or 'of no media type'}, not JSON; send "
            f"Content-Type: application/json (curl: -H 'Content-Type: application/json' -d '{EXAMPLE_BODY}', "
            "or --json)")


def parse_json_body(raw: bytes) -> Any:
    if not raw.strip():
        raise InvalidBody(f"the body is empty; send a JSON object such as {EXAMPLE_BODY}", code="invalid_body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidBody(f"the body is not valid JSON: {exc}", code="invalid_body") from exc


async def read_json_body(request: Request) -> Any:
    check_json_media_type(request.headers.get("content-type"))
    return parse_json_body(await request.body())
