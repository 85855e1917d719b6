"""What a response is: the declared Content-Type, checked against the bytes.

Servers mislabel freely (PDFs as text/html, HTML with no type at all), so
the first SNIFF_BYTES of the decoded body have the last word on whether the
body is a page at all.
"""

from __future__ import annotations

import codecs
import re

from jobs.errors import UnsupportedContent

SNIFF_BYTES = 1024

PAGE_TYPES = frozenset(
    {
        "text/html",
        "application/xhtml+xml",
        "application/xml",
        "text/xml",
        "application/json",
        "text/plain",
    }
)

_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+\-]+/[a-z0-9!#$&^_.+\-]+")

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"\x28\xb5\x2f\xfd", "zstd data"),
    (b"\xfd7zXZ\x00", "xz data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"%!PS-Adobe", "a PostScript document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Office document"),
    (b"OggS", "Ogg media"),
    (b"ID3", "MP3 audio"),
    (b"fLaC", "FLAC audio"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
    (b"wOFF", "a WOFF font"),
    (b"wOF2", "a WOFF2 font"),
    (b"\x7fELF", "an ELF executable"),
)
_RIFF_KINDS = {b"WEBP": "a WebP image", b"WAVE": "WAV audio", b"AVI ": "an AVI video"}

# WHATWG MIME sniffing: these openings (then a space or ">") mean HTML.
_HTML_OPENINGS = tuple(
    b"<" + tag
    for tag in (
        b"!doctype html", b"html", b"head", b"script", b"iframe", b"h1", b"div",
        b"font", b"table", b"a", b"style", b"title", b"b", b"body", b"br", b"p",
    )
)
_TAG_END = frozenset(b" >\t\n\r\x0c")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """(media type, charset) of a Content-Type value; a garbled type counts as absent."""
    if not value:
        return None, None
    kind, *params = value.split(";")
    media_type = kind.strip().lower()
    if not _MEDIA_TYPE.fullmatch(media_type):
        return None, None
    charset = None
    for param in params:
        name, _, raw = param.partition("=")
        if name.strip().lower() == "charset":
            charset = raw.strip().strip("\"'").lower() or None
            break
    if charset is not None:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None  # one Python cannot decode is no use downstream
    return media_type, charset


def is_page_type(media_type: str) -> bool:
    return (
        media_type in PAGE_TYPES
        or media_type.endswith("+xml")
        or media_type.endswith("+json")
    )


def check_declared(media_type: str, url: str) -> None:
    """Refuse a declared type that is not a page, before reading the body."""
    if not is_page_type(media_type):
        raise UnsupportedContent(f"{url} is {media_type[:100]}, not a page (HTML, XML, JSON or text)")


def sniff(head: bytes, declared: str | None, url: str) -> str:
    """The media type to report for a body starting with `head`.

    Raises UnsupportedContent when the bytes are binary, whatever was declared.
    """
    kind = binary_kind(head[:SNIFF_BYTES])
    if kind is not None:
        served = f"served as {declared}" if declared else "served without a type"
        raise UnsupportedContent(f"{url} is {kind} ({served}), not a page")
    return declared or _text_type(head[:SNIFF_BYTES])


def binary_kind(head: bytes) -> str | None:
    """What binary format `head` opens, or None if it looks like text."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "bzip2 data"
    if b"\0" in head and not head.startswith(_UTF16_BOMS):
        return "binary data"
    return None


def _text_type(head: bytes) -> str:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0c").lower()
    for opening in _HTML_OPENINGS:
        if text.startswith(opening) and len(text) > len(opening) and text[len(opening)] in _TAG_END:
            return "text/html"
    if text.startswith(b"<!--") or b"<html" in text or b"<!doctype html" in text:
        return "text/html"
    if text.startswith(b"<?xml"):
        return "application/xml"
    return "text/plain"
