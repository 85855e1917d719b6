"""Content types: declared, parsed, and checked against the bytes."""

from __future__ import annotations

import pytest

from jobs.errors import UnsupportedContent
from jobs.fetch.content_sniffing import binary_kind, check_declared, content_kind, parse_content_type, sniff


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html", ("text/html", None)),
        ("Text/HTML; Charset=UTF-8", ("text/html", "utf-8")),
        ('text/html; foo=bar; charset="ISO-8859-1"', ("text/html", "iso-8859-1")),
        ("text/html; charset=no-such-charset", ("text/html", None)),
        ("application/ld+json", ("application/ld+json", None)),
        ("", (None, None)),
        (None, (None, None)),
        ("html", (None, None)),
        ("text/html garbage", (None, None)),
    ],
)
def test_parse_content_type(value: str | None, expected: tuple[str | None, str | None]) -> None:
    assert parse_content_type(value) == expected


@pytest.mark.parametrize(
    "media_type",
    ["application/pdf", "image/png", "application/octet-stream", "video/mp4", "text/css",
     "application/javascript", "application/zip"],
)
def test_declared_non_pages_are_unsupported(media_type: str) -> None:
    with pytest.raises(UnsupportedContent):
        check_declared(media_type, "https://example.com/")


@pytest.mark.parametrize(
    "head",
    [
        b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"PK\x03\x04",
        b"\x1f\x8b\x08", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x28\xb5\x2f\xfd", b"OggS\x00",
        b"BZh91AY&SY", b"<html>\x00</html>",
    ],
)
def test_binary_heads_are_recognised(head: bytes) -> None:
    assert binary_kind(head) is not None
    with pytest.raises(UnsupportedContent):
        sniff(head, "text/html", "https://example.com/")


@pytest.mark.parametrize(
    ("head", "media_type"),
    [
        (b"<!DOCTYPE html><html>", "text/html"),
        (b"\xef\xbb\xbf  <html lang=en>", "text/html"),
        (b"<p>hello", "text/html"),
        (b"<!-- comment --><div>", "text/html"),
        (b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", "text/html"),
        (b"<?xml version='1.0'?><feed/>", "application/xml"),
        (b"<pre>", "text/plain"),
        (b"BZh is not bzip2 here", "text/plain"),
        (b'{"a": 1}', "text/plain"),
        (b"", "text/plain"),
        ("\ufeff<html>".encode("utf-16"), "text/plain"),
    ],
)
def test_untyped_text_is_sniffed(head: bytes, media_type: str) -> None:
    assert sniff(head, None, "https://example.com/") == media_type


@pytest.mark.parametrize(
    ("media_type", "kind"),
    [
        ("text/html; charset=utf-8", "html"),
        ("application/xhtml+xml", "html"),
        ("application/vnd.wap.xhtml+xml", "html"),
        ("application/rss+xml", "xml"),
        ("text/xml", "xml"),
        ("application/ld+json", "json"),
        ("text/plain", "text"),
    ],
)
def test_every_page_type_has_one_kind(media_type: str, kind: str) -> None:
    check_declared(media_type.split(";")[0], "https://example.com/")
    assert content_kind(media_type, b"whatever the bytes") == kind


@pytest.mark.parametrize(
    "head",
    [
        b"<!DOCTYPE html><html>", b"<p>hello", b"<!-- c --><div>", b"<?xml version='1.0'?><feed/>",
        b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", b"<pre>", b"<root/>", b"just words",
        b"",
    ],
)
def test_the_fetcher_and_extraction_read_an_untyped_body_alike(head: bytes) -> None:
    """The type the fetcher reports for an untyped body is read as the kind extraction sniffs."""
    assert content_kind(sniff(head, None, "https://example.com/"), head) == content_kind("", head)


def test_untyped_json_is_reported_as_text_but_read_as_json_when_the_type_is_unusable() -> None:
    assert sniff(b'[{"a": 1}]', None, "https://example.com/") == "text/plain"
    assert content_kind("application/octet-stream", b'[{"a": 1}]') == "json"
