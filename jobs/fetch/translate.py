"""The one place where errors from below (httpx, httpcore, sockets, decoders)
become JobErrors.

    httpx.ConnectTimeout, other timeouts      -> FetchTimeout
    TimeoutError of the fetch deadline        -> FetchTimeout
    head over the parser's limit (h11 431)    -> TooLarge
    httpx.InvalidURL, UnsupportedProtocol     -> InvalidURL
    anything else (connect, read, protocol,
    corrupt compressed data, surprises)       -> FetchError

JobErrors raised on purpose below (BlockedAddress from the connection guard,
TooLarge from the body limits ...) pass through unchanged.
"""

from __future__ import annotations

import zlib

import brotli
import httpx
import zstandard

from ..errors import FetchError, FetchTimeout, InvalidURL, JobError, TooLarge

_DECODER_ERRORS = (zlib.error, brotli.error, zstandard.ZstdError)


def translate_error(exc: BaseException, url: str, *, deadline_s: float | None = None) -> JobError:
    """The JobError a client should see for `exc`, raised while fetching `url`.

    `deadline_s` is set when the fetch's own total deadline expired.
    """
    if isinstance(exc, JobError):
        return exc
    if deadline_s is not None and isinstance(exc, TimeoutError):
        return FetchTimeout(f"{url} did not finish within {deadline_s:g} s")
    if isinstance(exc, httpx.ConnectTimeout):
        return FetchTimeout(f"connecting to {url} timed out")
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return FetchTimeout(f"{url} stopped answering ({_describe(exc)})")
    if isinstance(exc, httpx.RemoteProtocolError) and _head_too_large(exc):
        return TooLarge(f"the response head of {url} is too large")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return InvalidURL(f"cannot fetch {url}: {exc}")
    if isinstance(exc, httpx.ConnectError):
        return FetchError(f"could not connect to {url}: {_describe(exc)}")
    if isinstance(exc, httpx.RemoteProtocolError):
        return FetchError(f"{url} broke the HTTP protocol: {_describe(exc)}")
    if isinstance(exc, httpx.TransportError):
        return FetchError(f"the connection to {url} failed: {_describe(exc)}")
    if isinstance(exc, _DECODER_ERRORS):
        return FetchError(f"the body of {url} is not valid compressed data: {_describe(exc)}")
    return FetchError(f"fetching {url} failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _head_too_large(exc: BaseException) -> bool:
    """Whether h11 gave up because a head outgrew its buffer (it hints 431 then)."""
    cause: BaseException | None = exc
    for _ in range(5):
        if cause is None:
            return False
        if getattr(cause, "error_status_hint", None) == 431:
            return True
        cause = cause.__cause__ or cause.__context__
    return False
