"""What a fetched body is: HTML, JSON, XML or text, and whether it is text at all."""

from __future__ import annotations

import re

from jobs.errors import ExtractionError

_BINARY_SAMPLE_CHARS = 8_192
_BINARY_RATIO = 0.05
# Control characters other than tab, newline, form feed, carriage return: text has
# next to none, binary data ~11% (one byte value in nine). U+FFFD is not counted: it
# comes from a wrong charset, which is no reason to give up on a page.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
# Any of these near the start is a page, however many NUL bytes surround it.
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|meta|title|div|p[\s>]|script|link|table)", re.I)


def content_kind(media_type: str, content: bytes) -> str:
    """The kind of body, "html", "json", "xml" or "text": from the media type, else from its first bytes."""
    media_type = media_type.split(";", 1)[0].strip().lower()
    if media_type in (
        "text/html",
        "application/xhtml+xml",
        "application/xhtml",
        "application/vnd.wap.xhtml+xml",
    ):
        return "html"
    if media_type.endswith(("/json", "+json")):
        return "json"
    if media_type.endswith(("/xml", "+xml")):
        return "xml"
    if media_type.startswith("text/"):
        return "text"
    start = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()  # unknown type: sniff
    if start.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--", b"<meta", b"<div", b"<p")):
        return "html"
    if start.startswith(b"<?xml"):
        return "xml"
    if start.startswith((b"{", b"[")):
        return "json"
    return "html" if start.startswith(b"<") else "text"


def refuse_binary(text: str, media_type: str) -> None:
    """Raise ExtractionError when the body is binary data (an image or archive served as text)."""
    sample = text[:_BINARY_SAMPLE_CHARS]
    if not sample or _MARKUP.search(sample):
        return
    bad = len(_CONTROL.findall(sample))
    if bad > 16 and bad > len(sample) * _BINARY_RATIO:  # a few stray control bytes are still text
        kind = media_type.split(";", 1)[0].strip() or "text"
        raise ExtractionError(
            f"the body is binary data, not {kind} ({bad} of its first {len(sample)} characters are not text)"
        )
