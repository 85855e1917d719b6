"""Bounded decoders for Content-Encoding (gzip, deflate, br, zstd, stacked).

httpx decompresses a chunk with no limit on the output, so one 64 KiB chunk
of a bomb becomes gigabytes. These decoders push their output to a sink in
pieces of about CHUNK bytes; the sink counts and raises (TooLarge) to stop a
bomb after a bounded amount of memory and CPU.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import IO, Protocol, cast

import brotli
import zstandard

from jobs.errors import FetchError, UnsupportedContent

Sink = Callable[[bytes], None]

CHUNK = 64 * 1024
MAX_CODINGS = 4
# RFC 9659: zstd in HTTP uses windows of at most 8 MiB; a larger one is a
# request to allocate memory on the sender's behalf.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024

_GZIP_WBITS = 16 + zlib.MAX_WBITS


def _brotli_is_bounded() -> bool:
    try:
        brotli.Decompressor().process(b"", output_buffer_limit=CHUNK)
    except TypeError:  # brotli < 1.2 cannot bound its output
        return False
    return True


BROTLI_BOUNDED = _brotli_is_bounded()
ACCEPT_ENCODING = "gzip, deflate, br, zstd" if BROTLI_BOUNDED else "gzip, deflate, zstd"


class Decoder(Protocol):
    def feed(self, data: bytes) -> None: ...

    def finish(self) -> None:
        """Called once after the last byte; raises FetchError if the stream is cut short."""


class ZlibDecoder:
    """gzip (several members allowed) or deflate with a known framing."""

    def __init__(self, sink: Sink, wbits: int, name: str) -> None:
        self._sink = sink
        self._wbits = wbits
        self._name = name
        self._d = zlib.decompressobj(wbits)
        self._started = False
        self._ignore_rest = False

    def feed(self, data: bytes) -> None:
        if not data or self._ignore_rest:
            return
        while True:
            if self._d.eof and not self._another_member(data):
                return
            d = self._d
            self._started = True
            out = d.decompress(data, CHUNK)
            if out:
                self._sink(out)
            if d.eof:
                data = d.unused_data
                if not data:
                    return
                continue
            data = d.unconsumed_tail
            # A full piece may leave output pending inside zlib: ask again.
            if not data and len(out) < CHUNK:
                return

    def _another_member(self, rest: bytes) -> bool:
        # A gzip body may be several members back to back. Bytes after a
        # deflate stream, and zero padding after gzip, are ignored like browsers do.
        if self._wbits == _GZIP_WBITS and rest.strip(b"\0"):
            self._d = zlib.decompressobj(self._wbits)
            return True
        self._ignore_rest = True
        return False

    def finish(self) -> None:
        if self._started and not self._d.eof:
            raise FetchError(f"the {self._name} body ends before its compressed stream does")


class DeflateDecoder:
    """HTTP "deflate" is meant to be zlib-wrapped, but servers send raw deflate too."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._head = b""
        self._inner: ZlibDecoder | None = None

    def feed(self, data: bytes) -> None:
        if self._inner is None:
            self._head += data
            if len(self._head) < 2:
                return
            b0, b1 = self._head[0], self._head[1]
            zlib_wrapped = b0 & 0x0F == 8 and b0 >> 4 <= 7 and ((b0 << 8) | b1) % 31 == 0
            wbits = zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS
            self._inner = ZlibDecoder(self._sink, wbits, "deflate")
            data, self._head = self._head, b""
        self._inner.feed(data)

    def finish(self) -> None:
        if self._inner is not None:
            self._inner.finish()
        elif self._head:
            raise FetchError("the deflate body ends before its compressed stream does")


class BrotliDecoder:
    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._d = brotli.Decompressor()
        self._started = False

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self._started = True
        d = self._d
        out = d.process(data, output_buffer_limit=CHUNK)
        while True:
            if out:
                self._sink(out)
            if d.can_accept_more_data():
                return
            out = d.process(b"", output_buffer_limit=CHUNK)
            if not out and not d.can_accept_more_data():
                raise FetchError("the brotli decoder stalled")

    def finish(self) -> None:
        if self._started and not self._d.is_finished():
            raise FetchError("the br body ends before its compressed stream does")


class _SinkWriter:
    """The file-like object zstandard's stream writer pushes output into."""

    def __init__(self, sink: Sink) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        self._sink(bytes(data))
        return len(data)


class ZstdDecoder:
    """zstd through a stream writer, the one zstandard API that bounds its output pieces.

    It cannot tell a cut-short stream from a finished one, so finish() is lenient.
    """

    def __init__(self, sink: Sink) -> None:
        decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._writer = decompressor.stream_writer(
            cast(IO[bytes], _SinkWriter(sink)), write_size=CHUNK, write_return_read=True, closefd=False
        )

    def feed(self, data: bytes) -> None:
        if data:
            self._writer.write(data)

    def finish(self) -> None:
        return None


class _Stack:
    """Stacked encodings: the one applied last is decoded first."""

    def __init__(self, decoders: list[Decoder]) -> None:
        self._decoders = decoders
        self.feed = decoders[0].feed

    def finish(self) -> None:
        for decoder in self._decoders:
            decoder.finish()


_FACTORIES: dict[str, Callable[[Sink], Decoder]] = {
    "gzip": lambda sink: ZlibDecoder(sink, _GZIP_WBITS, "gzip"),
    "x-gzip": lambda sink: ZlibDecoder(sink, _GZIP_WBITS, "gzip"),
    "deflate": DeflateDecoder,
    "zstd": ZstdDecoder,
}
if BROTLI_BOUNDED:
    _FACTORIES["br"] = BrotliDecoder


def content_codings(header: str) -> list[str]:
    """The codings of a Content-Encoding value, in the order they were applied."""
    codings = [c.strip().lower() for c in header.split(",")]
    return [c for c in codings if c and c != "identity"]


def make_decoder(content_encoding: str, sink: Sink) -> Decoder | None:
    """A decoder for this Content-Encoding feeding `sink`, or None for identity.

    Raises UnsupportedContent for an unknown or absurdly deep encoding.
    """
    codings = content_codings(content_encoding)
    if not codings:
        return None
    if len(codings) > MAX_CODINGS:
        raise UnsupportedContent(f"the body is encoded {len(codings)} times over")
    decoders: list[Decoder] = []
    target = sink
    for coding in codings:
        factory = _FACTORIES.get(coding)
        if factory is None:
            raise UnsupportedContent(f"unsupported content encoding {coding[:40]!r}")
        decoder = factory(target)
        decoders.append(decoder)
        target = decoder.feed
    decoders.reverse()
    return decoders[0] if len(decoders) == 1 else _Stack(decoders)
