"""Bytes to text: the declared charset, a byte-order mark, or UTF-8, else windows-1252.

Order: a byte-order mark, then the charset of the Content-Type header, then a
`<meta charset>` / `<meta http-equiv="content-type">` in the first bytes, then
the bytes themselves: UTF-8 if they read as UTF-8, else windows-1252 — the
fallback encoding browsers use for an undeclared page (WHATWG), so `Crème`
written by an old Latin-1 site stays `Crème`, not `Cr�me`.
The BOM goes first, as in the HTML Standard and every browser: it cannot be there
by accident, while a header charset is often a server default that is wrong.
Decoding never raises: bad bytes of a declared charset become U+FFFD, unknown
charset names count as undeclared.
"""

from __future__ import annotations

import codecs
import re

META_PRESCAN_BYTES = 2_048
"""How far into the body `<meta charset>` is looked for (the Standard says 1024)."""

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Labels that browsers read as a wider encoding than Python's codec of the same
# name (the WHATWG Encoding Standard): pages labelled latin-1 are written in
# windows-1252, "Shift_JIS" pages in Microsoft's cp932, and so on.
_SUPERSETS: dict[str, str] = {
    "iso8859_1": "cp1252",
    "ascii": "cp1252",
    "iso8859_9": "cp1254",
    "iso8859_11": "cp874",
    "tis_620": "cp874",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
}

# Web labels Python's codec registry does not know.
_ALIASES: dict[str, str] = {"windows-874": "cp874", "x-sjis": "cp932", "x-user-defined": "cp1252"}

# Codecs that are not web text encodings: transforms, escapes, or encodings the
# Standard forbids because they smuggle markup (UTF-7).
_REFUSED = frozenset(
    {"utf_7", "unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs"}
)

# Meta tags whose attributes mention a charset: covers `<meta charset=x>` and
# `<meta http-equiv="Content-Type" content="text/html; charset=x">`.
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I)


def decode_html(content: bytes, charset: str | None) -> str:
    """Decode a page body; never raises, whatever the bytes and the charset name."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace")
    declared = codec_for(charset) or sniff_meta_charset(content)
    if declared is None:
        return decode_undeclared(content)
    try:
        return content.decode(declared, errors="replace")
    except (LookupError, UnicodeError):  # a codec that cannot decode at all
        return content.decode("utf-8", errors="replace")


def _as_c1_controls(error: UnicodeError) -> tuple[str, int]:
    # The five bytes windows-1252 leaves undefined map to the C1 controls of the same value (WHATWG index).
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(byte) for byte in error.object[error.start : error.end]), error.end


codecs.register_error("scrapestream-whatwg-c1", _as_c1_controls)


def decode_undeclared(content: bytes) -> str:
    """A body that declares no charset: UTF-8 when it mostly reads as UTF-8, else windows-1252.

    A UTF-8 page with a stray bad byte stays UTF-8 (one U+FFFD); bytes that are
    mostly not UTF-8 are the legacy page browsers read as windows-1252.
    """
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    as_utf8 = content.decode("utf-8", errors="replace")
    bad = as_utf8.count("\ufffd")
    read_well = sum(1 for char in as_utf8 if char > "\x7f") - bad
    if read_well > bad:
        return as_utf8
    return content.decode("cp1252", errors="scrapestream-whatwg-c1")


def decode_text(content: bytes, charset: str | None) -> str:
    """Decode a non-HTML body (JSON, text, XML): BOM, declared charset, UTF-8."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, errors="replace")
    encoding = codec_for(charset) or "utf-8"
    try:
        return content.decode(encoding, errors="replace")
    except (LookupError, UnicodeError):
        return content.decode("utf-8", errors="replace")


def sniff_meta_charset(content: bytes) -> str | None:
    """The codec named by a `<meta>` charset declaration near the start, if usable."""
    match = _META_CHARSET.search(content, 0, META_PRESCAN_BYTES)
    if match is None:
        return None
    codec = codec_for(match.group(1).decode("ascii"))
    # A page cannot declare UTF-16 in ASCII-compatible bytes: the Standard reads it as UTF-8.
    if codec is not None and codec.startswith("utf_16"):
        return "utf-8"
    return codec


def codec_for(label: str | None) -> str | None:
    """Python's codec for a charset label, widened as browsers do; None if unusable."""
    if not label:
        return None
    label = label.strip().strip("\"'").strip()
    if not label or len(label) > 40:
        return None
    try:
        info = codecs.lookup(_ALIASES.get(label.lower(), label))
    except LookupError:
        return None
    name = info.name.replace("-", "_")
    # `_is_text_encoding` is how str.decode itself refuses rot13, base64 and friends.
    if name in _REFUSED or not getattr(info, "_is_text_encoding", True):
        return None
    return _SUPERSETS.get(name, name)
