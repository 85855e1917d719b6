"""The bounded decoders, fed the way a network feeds them."""

from __future__ import annotations

import zlib

import brotli
import pytest
import zstandard

from jobs.errors import FetchError, UnsupportedContent
from jobs.fetch.decompress import CHUNK, make_decoder
from tests.support.bombs import brotli_bomb, deflate, gzip, gzip_bomb_parts, zstd_bomb

TEXT = b"<p>The quick brown fox jumps over the lazy dog.</p>\n" * 500

ENCODED = {
    "gzip": gzip(TEXT),
    "deflate": deflate(TEXT),
    "br": brotli.compress(TEXT),
    "zstd": zstandard.ZstdCompressor().compress(TEXT),
}


def decode(header: str, data: bytes, step: int) -> list[bytes]:
    pieces: list[bytes] = []
    decoder = make_decoder(header, pieces.append)
    assert decoder is not None
    for i in range(0, len(data), step):
        decoder.feed(data[i : i + step])
    decoder.finish()
    return pieces


@pytest.mark.parametrize("coding", sorted(ENCODED))
@pytest.mark.parametrize("step", [1, 7, 4096, 10**9])
def test_every_coding_decodes_whatever_the_chunking(coding: str, step: int) -> None:
    assert b"".join(decode(coding, ENCODED[coding], step)) == TEXT


def test_raw_deflate_without_zlib_header() -> None:
    assert b"".join(decode("deflate", deflate(TEXT, raw_deflate=True), 3)) == TEXT


def test_stacked_codings_are_undone_in_reverse_order() -> None:
    data = brotli.compress(zstandard.ZstdCompressor().compress(gzip(TEXT)))
    assert b"".join(decode("gzip, zstd, br", data, 100)) == TEXT
    assert b"".join(decode("identity, gzip", gzip(TEXT), 100)) == TEXT


def test_gzip_members_and_zero_padding() -> None:
    data = gzip(TEXT[:100]) + gzip(TEXT[100:]) + b"\0" * 10
    assert b"".join(decode("gzip", data, 5)) == TEXT


@pytest.mark.parametrize(
    ("coding", "data"),
    [
        ("gzip", gzip(TEXT)[:-20]),
        ("deflate", deflate(TEXT)[:-20]),
        ("deflate", b"x"),
        ("br", brotli.compress(TEXT)[:-5]),
    ],
)
def test_a_stream_cut_short_is_a_fetch_error(coding: str, data: bytes) -> None:
    with pytest.raises(FetchError, match="ends before"):
        decode(coding, data, 50)


@pytest.mark.parametrize(
    ("coding", "error"),
    [("gzip", zlib.error), ("br", brotli.error), ("zstd", zstandard.ZstdError)],
)
def test_garbage_raises_the_library_error_for_translation(
    coding: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        decode(coding, b"\x1f\x8b\x08\x00" + b"\xff" * 64 if coding == "gzip" else b"\xff" * 64, 64)


@pytest.mark.parametrize("header", ["compress", "gzip, lzma", "x-custom"])
def test_unknown_codings_are_unsupported(header: str) -> None:
    with pytest.raises(UnsupportedContent):
        make_decoder(header, lambda piece: None)


def test_identity_needs_no_decoder() -> None:
    assert make_decoder("", lambda piece: None) is None
    assert make_decoder(" identity ", lambda piece: None) is None


class Stop(Exception):
    pass


@pytest.mark.parametrize(
    ("coding", "bomb"),
    [
        ("gzip", b"".join(gzip_bomb_parts())),
        ("br", brotli_bomb(64)),
        ("zstd", zstd_bomb(64)),
    ],
)
def test_a_bomb_comes_out_in_bounded_pieces_and_can_be_stopped(coding: str, bomb: bytes) -> None:
    """Fed in one go, the output still arrives piecewise, so the sink can stop it early."""
    sizes: list[int] = []

    def sink(piece: bytes) -> None:
        sizes.append(len(piece))
        if sum(sizes) > 4 * CHUNK:
            raise Stop

    decoder = make_decoder(coding, sink)
    assert decoder is not None
    with pytest.raises(Stop):
        decoder.feed(bomb)
    assert max(sizes) <= 2 * CHUNK
