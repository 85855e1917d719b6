"""Pages are decoded by their declared charset (header, then <meta>), a BOM, else UTF-8."""

from __future__ import annotations

import codecs

import pytest

from jobs.extract import decode_html
from tests.extract.pages import extract, fixture


def test_iso_8859_1_from_the_header() -> None:
    document = extract(fixture("charset_iso8859_1_header.html"), charset="ISO-8859-1")
    assert document.title == "Crème brûlée à l'orange"
    assert document.markdown is not None
    assert "Fouettez les jaunes d'œufs" in document.markdown
    # Browsers read "latin-1" pages as windows-1252, so €, — and « » come out right too.
    assert "4,50 € — « très économique »" in document.markdown


def test_windows_1251_from_meta_charset() -> None:
    document = extract(fixture("charset_windows1251_meta.html"))
    assert document.title == "Чайник электрический — Магазин"
    assert document.description == "Электрический чайник из нержавеющей стали, 1,7 литра."
    assert document.markdown is not None
    assert "Быстро кипятит воду" in document.markdown


def test_shift_jis_from_http_equiv() -> None:
    document = extract(fixture("charset_shift_jis_http_equiv.html"))
    assert document.title == "抹茶ラテの作り方 | お茶の時間"
    assert document.markdown is not None
    assert "温めた牛乳を注ぎます。①から③の順番" in document.markdown


def test_utf8_with_bom() -> None:
    document = extract(fixture("charset_utf8_bom.html"))
    assert document.title == "Übergrößen für Schuhe \u2013 Größentabelle"
    assert document.markdown is not None
    assert document.markdown.startswith("# Größentabelle für Übergrößen")
    assert "\ufeff" not in document.markdown


def test_undeclared_is_utf8() -> None:
    document = extract(fixture("charset_undeclared_utf8.html"))
    assert document.title == "Zażółć gęślą jaźń \u2013 pangram"
    assert document.markdown is not None
    assert "Pchnąć w tę łódź jeża lub ośm skrzyń fig." in document.markdown


def test_header_charset_wins_over_meta() -> None:
    page = '<meta charset="windows-1251"><p>Grüße</p>'.encode("cp1252")
    assert "Grüße" in decode_html(page, "windows-1252")


def test_byte_order_mark_wins_over_a_wrong_header() -> None:
    page = codecs.BOM_UTF8 + "<p>Grüße</p>".encode()
    assert decode_html(page, "iso-8859-1") == "<p>Grüße</p>"


def test_utf16_byte_order_mark() -> None:
    page = codecs.BOM_UTF16_LE + "<p>Grüße</p>".encode("utf-16-le")
    assert decode_html(page, None) == "<p>Grüße</p>"


def test_meta_declaring_utf16_in_ascii_bytes_means_utf8() -> None:
    page = '<meta charset="utf-16"><p>Grüße</p>'.encode()
    assert "Grüße" in decode_html(page, None)


def test_meta_charset_is_only_looked_for_near_the_start() -> None:
    page = ("<!--" + "x" * 5000 + '--><meta charset="windows-1251"><p>Grüße</p>').encode()
    assert "Grüße" in decode_html(page, None)


@pytest.mark.parametrize(
    "charset",
    ["bogus", "utf-99", "rot13", "base64", "hex", "zlib", "utf-7", "undefined", "", "  ", "x" * 500],
)
def test_unknown_or_unsafe_charsets_fall_back_to_utf8(charset: str) -> None:
    assert decode_html("<p>Grüße +ADw-</p>".encode(), charset) == "<p>Grüße +ADw-</p>"


def test_bogus_meta_charset_falls_back_to_utf8() -> None:
    assert "Grüße" in decode_html('<meta charset="klingon"><p>Grüße</p>'.encode(), None)


def test_bytes_a_declared_charset_cannot_decode_become_replacement_characters() -> None:
    assert decode_html(b"<p>caf\xe9 \xff\xfe</p>", "utf-8") == "<p>caf\ufffd \ufffd\ufffd</p>"


def test_undeclared_bytes_that_are_not_utf8_read_as_windows_1252() -> None:
    """An undeclared Latin-1 page came out as `Cr\ufffdme br\ufffdl\ufffde`.

    Browsers fall back to windows-1252 (WHATWG encoding sniffing).
    """
    assert decode_html("<p>Crème brûlée — 5 €</p>".encode("cp1252"), None) == "<p>Crème brûlée — 5 €</p>"
    assert decode_html(b"<p>caf\xe9 \xff\xfe</p>", None) == "<p>caf\xe9 \xff\xfe</p>"
    # The five bytes windows-1252 leaves undefined are the C1 controls of the same value, as in browsers.
    assert decode_html(b"\x81\x8d\x8f\x90\x9d", None) == "\x81\x8d\x8f\x90\x9d"


def test_undeclared_utf8_with_a_stray_byte_stays_utf8() -> None:
    assert decode_html("<p>Grüße, naïve café</p>".encode() + b"\xff", None) == "<p>Grüße, naïve café</p>\ufffd"


def test_quoted_header_charset() -> None:
    assert decode_html("<p>Grüße</p>".encode("cp1252"), '"windows-1252"') == "<p>Grüße</p>"
