"""Where the server is and which key to send, when the program does not say."""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8000"  # what `make run` serves
URL_VARIABLE = "SCRAPESTREAM_URL"
API_KEY_VARIABLE = "SCRAPESTREAM_API_KEY"


def server_url(given: str | None) -> str:
    return given or os.environ.get(URL_VARIABLE) or DEFAULT_URL


def api_key(given: str | None) -> str | None:
    # An empty variable means "no key", as an unset one does (a `.env` line left blank).
    return given if given is not None else (os.environ.get(API_KEY_VARIABLE) or None)
