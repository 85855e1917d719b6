"""What a body is — a page of HTML, XML, JSON or text, or binary data — for the fetcher and extraction alike.

Servers mislabel freely (PDFs as text/html, HTML with no type at all), so
the first SNIFF_BYTES of the decoded body have the last word on whether the
body is a page at all. One set of rules, applied twice:

- the fetcher refuses a declared type that is not a page (`check_declared`),
  then any body whose first bytes are binary (`sniff`: a known signature, or
  a NUL byte), and reports a type for an untyped body;
- extraction reads the kind of body (`content_kind`: the declared type when it
  is a page type, else the same sniffing rules) and refuses, after decoding,
  a body with a known signature or mostly control characters (`refuse_binary`).
  It tolerates NUL bytes inside markup, since it also runs on bodies it is
  handed directly; a fetched body with NULs in its head never gets there.
"""

from __future__ import annotations

import codecs
import re
from typing import Final, Literal

from jobs.errors import ExtractionError, UnsupportedContent

SNIFF_BYTES = 1024

ContentKind = Literal["html", "xml", "json", "text"]

# The page types, and how each is read. Any other "+xml" or "+json" type is XML or JSON.
_PAGE_KINDS: Final[dict[str, ContentKind]] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/vnd.wap.xhtml+xml": "html",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/json": "json",
    "text/plain": "text",
}

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

_BINARY_SAMPLE_CHARS = 8_192
_BINARY_RATIO = 0.05
# Control characters other than tab, newline, form feed, carriage return: text has
# next to none, binary data ~11% (one byte value in nine). U+FFFD is not counted: it
# comes from a wrong charset, which is no reason to give up on a page.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
# Any of these near the start is a page, however many NUL bytes surround it.
_MARKUP = re.compile(r"<(?:!doctype|html|head|body|meta|title|div|p[\s>]|script|link|table)", re.I)


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


def declared_kind(media_type: str) -> ContentKind | None:
    """How a body of this media type is read; None when the type is not a page."""
    kind = _PAGE_KINDS.get(media_type)
    if kind is None and media_type.endswith("+xml"):
        return "xml"
    if kind is None and media_type.endswith("+json"):
        return "json"
    return kind


def is_page_type(media_type: str) -> bool:
    return declared_kind(media_type) is not None


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
    """What binary format `head` opens (a known signature, or any NUL byte), or None if it looks like text."""
    kind = signature_kind(head)
    if kind is None and b"\0" in head and not head.startswith(_UTF16_BOMS):
        return "binary data"
    return kind


def signature_kind(head: bytes) -> str | None:
    """The binary format whose signature (magic number) `head` opens with, if any."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"RIFF") and head[8:12] in _RIFF_KINDS:
        return _RIFF_KINDS[head[8:12]]
    if head.startswith(b"BZh") and head[4:10] == b"1AY&SY":
        return "bzip2 data"
    return None


def content_kind(media_type: str, content: bytes) -> ContentKind:
    """How to read a body: by its declared type when that is a page type, else by its first bytes."""
    return declared_kind(media_type.split(";", 1)[0].strip().lower()) or sniffed_kind(content)


def sniffed_kind(head: bytes) -> ContentKind:
    """The kind of an untyped body, from its first SNIFF_BYTES (WHATWG's HTML signatures, an XML declaration)."""
    text = head[:SNIFF_BYTES].removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\n\r\x0c").lower()
    for opening in _HTML_OPENINGS:
        if text.startswith(opening) and len(text) > len(opening) and text[len(opening)] in _TAG_END:
            return "html"
    if text.startswith(b"<!--") or b"<html" in text or b"<!doctype html" in text:
        return "html"
    if text.startswith(b"<?xml"):
        return "xml"
    if text.startswith((b"{", b"[")):
        return "json"
    return "text"


def refuse_binary(content: bytes, text: str, media_type: str) -> None:
    """Raise ExtractionError when the body is binary data (an image or archive served as text).

    `text` is `content` decoded; a few stray control characters are still text.
    """
    kind = media_type.split(";", 1)[0].strip() or "text"
    signature = signature_kind(content[:SNIFF_BYTES])
    if signature is not None:
        raise ExtractionError(f"the body is binary data ({signature}), not {kind}")
    sample = text[:_BINARY_SAMPLE_CHARS]
    if not sample or _MARKUP.search(sample):
        return
    bad = len(_CONTROL.findall(sample))
    if bad > 16 and bad > len(sample) * _BINARY_RATIO:
        raise ExtractionError(
            f"the body is binary data, not {kind} ({bad} of its first {len(sample)} characters are not text)"
        )


def _text_type(head: bytes) -> str:
    """The type to report for an untyped body. JSON is reported as text/plain, as WHATWG sniffing
    does: a text that opens with "[" or "{" is as likely prose, and the server did not say JSON."""
    kind = sniffed_kind(head)
    return "text/html" if kind == "html" else "application/xml" if kind == "xml" else "text/plain"
