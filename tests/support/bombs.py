"""Compressed bodies for hostile servers: decompression bombs, and plain gzip/deflate."""

from __future__ import annotations

import zlib
from functools import cache

import brotli
import zstandard

from .raw_http import MB


@cache
def gzip_bomb_parts(wbits: int = 31) -> tuple[bytes, bytes]:
    """(first, unit): after a full flush, every MiB of zeros compresses to the same bytes.

    first + unit * n decodes to n + 1 MiB of zeros, so a 10 GiB bomb costs the
    server nothing. The trailer never comes: the client must give up first.
    """
    zeros = b" " * MB  # spaces, not NULs: the sniffer would stop a NUL bomb first
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    unit = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    return first, unit


@cache
def brotli_bomb(mib: int = 1024) -> bytes:
    c = brotli.Compressor(quality=1)
    zeros = b" " * MB  # spaces, not NULs: the sniffer would stop a NUL bomb first
    body: bytes = b"".join(c.process(zeros) for _ in range(mib)) + c.finish()  # brotli is untyped
    return body


@cache
def zstd_bomb(mib: int = 1024) -> bytes:
    c = zstandard.ZstdCompressor(level=1).compressobj()
    zeros = b" " * MB  # spaces, not NULs: the sniffer would stop a NUL bomb first
    return b"".join(c.compress(zeros) for _ in range(mib)) + c.flush()


def gzip(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def deflate(data: bytes, *, raw_deflate: bool = False) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15 if raw_deflate else 15)
    return c.compress(data) + c.flush()


@cache
def stacked_bomb() -> bytes:
    """A gzip bomb (1 GiB of spaces) inside brotli, for `Content-Encoding: gzip, br`."""
    first, unit = gzip_bomb_parts()
    body: bytes = brotli.compress(first + unit * 1023, quality=1)  # brotli is untyped
    return body
