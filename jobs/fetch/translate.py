"""The one place where errors from below (httpx, httpcore, aiohttp, sockets,
decoders) become JobErrors. Both backends give the same codes for the same server.

    httpx.ConnectTimeout,
    aiohttp.ConnectionTimeoutError            -> FetchTimeout
    other timeouts (read ...)                 -> FetchTimeout
    TimeoutError of the fetch deadline        -> FetchTimeout
    head over the parser's limit
      (h11 431, aiohttp line/count limits,
      CheckedResponseHandler 431)             -> TooLarge
    httpx.InvalidURL, UnsupportedProtocol,
    aiohttp.InvalidURL                        -> InvalidURL
    anything else (connect, read, protocol,
    corrupt compressed data, surprises)       -> FetchError

JobErrors raised on purpose below (BlockedAddress from the connection guard,
TooLarge from the body limits ...) pass through unchanged.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import aiohttp
import brotli
import httpx
import zstandard
from aiohttp.http_exceptions import BadHttpMessage, LineTooLong

from jobs.errors import FetchError, FetchTimeout, InvalidURL, JobError, TooLarge

_DECODER_ERRORS = (zlib.error, brotli.error, zstandard.ZstdError)
_CONNECT_TIMEOUTS = (httpx.ConnectTimeout, aiohttp.ConnectionTimeoutError)
_URL_ERRORS = (httpx.InvalidURL, httpx.UnsupportedProtocol, aiohttp.InvalidURL)
# The server broke HTTP: a garbled head, a body cut short, a hang-up instead of an answer.
_PROTOCOL_ERRORS = (
    httpx.RemoteProtocolError,
    aiohttp.ClientResponseError,  # raised only for a head aiohttp could not parse
    aiohttp.ClientPayloadError,
    aiohttp.ServerDisconnectedError,
)
_TRANSPORT_ERRORS = (httpx.TransportError, aiohttp.ClientError)

# What reading a response body may raise when it fails, whichever the backend.
READ_ERRORS: tuple[type[Exception], ...] = (TimeoutError, httpx.HTTPError, aiohttp.ClientError)


def translate_error(exc: BaseException, url: str, *, deadline_s: float | None = None) -> JobError:
    """The JobError a client should see for `exc`, raised while fetching `url`.

    `deadline_s` is set when the fetch's own total deadline expired.
    """
    if isinstance(exc, JobError):
        return exc
    if deadline_s is not None and isinstance(exc, TimeoutError):
        return FetchTimeout(f"{url} did not finish within {deadline_s:g} s")
    if isinstance(exc, _CONNECT_TIMEOUTS):
        return FetchTimeout(f"connecting to {url} timed out")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return FetchTimeout(f"{url} stopped answering ({_describe(exc)})")
    if isinstance(exc, _PROTOCOL_ERRORS) and _head_too_large(exc):
        return TooLarge(f"the response head of {url} is too large")
    if isinstance(exc, _URL_ERRORS):
        return InvalidURL(f"cannot fetch {url}: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect to {url}: {_describe(exc)}")
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Its own text ("Cannot connect to host ... [None]") hides the cause.
        return FetchError(f"could not connect to {url}: {_describe(exc.os_error)}")
    if isinstance(exc, _PROTOCOL_ERRORS):
        return FetchError(f"{url} broke the HTTP protocol: {_describe(exc)}")
    if isinstance(exc, _TRANSPORT_ERRORS):
        return FetchError(f"the connection to {url} failed: {_describe(exc)}")
    if isinstance(exc, _DECODER_ERRORS):
        return FetchError(f"the body of {url} is not valid compressed data: {_describe(exc)}")
    return FetchError(f"fetching {url} failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _causes(exc: BaseException) -> Iterator[BaseException]:
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            return
        yield cause
        cause = cause.__cause__ or cause.__context__


def _head_too_large(exc: BaseException) -> bool:
    """Whether the HTTP parser gave up because a response head outgrew its limits."""
    for cause in _causes(exc):
        if getattr(cause, "error_status_hint", None) == 431:  # h11
            return True
        if isinstance(cause, aiohttp.ClientResponseError) and cause.status == 431:  # CheckedResponseHandler
            return True
        if isinstance(cause, LineTooLong):  # aiohttp: a header field or the status line
            return True
        # aiohttp: more headers than max_headers (only a message tells it apart).
        if isinstance(cause, BadHttpMessage) and "too many headers" in cause.message.lower():
            return True
    return False
