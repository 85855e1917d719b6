"""Reading a response body raw, decoding it ourselves, within the limits."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from jobs.errors import TooLarge
from jobs.fetch.content_sniffing import SNIFF_BYTES
from jobs.fetch.decompress import make_decoder
from jobs.fetch.limits import FetchLimits
from streams.ascii_decimal import parse_ascii_decimal

# Below this many decoded bytes the ratio is not judged: a tiny compressed
# page of repetitive markup can legitimately expand a few hundred times.
RATIO_FLOOR = 1024 * 1024
RATIO_STEP = 8 * 1024
# A Content-Length past this is not a length we believe; the bounded read still stops at the limit.
MAX_CONTENT_LENGTH = 2**63 - 1


class BoundedBody:
    """Collects decoded pieces; raises TooLarge past the size or ratio limit."""

    __slots__ = ("_inspect", "_max_bytes", "_pieces", "_ratio", "size", "wire")

    def __init__(self, limits: FetchLimits, inspect: Callable[[bytes], None] | None) -> None:
        self._max_bytes = limits.max_bytes
        self._ratio = limits.max_decompression_ratio
        self._inspect = inspect
        self._pieces: list[bytes] = []
        self.size = 0
        self.wire: int | None = None  # compressed bytes received; None when not compressed

    def append(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self._max_bytes:
            raise TooLarge(f"the body is larger than {self._max_bytes} bytes")
        if (
            self.wire is not None
            and self.size > RATIO_FLOOR
            and self.size > self.wire * self._ratio
        ):
            raise TooLarge(f"the body expands more than {self._ratio} times when decompressed")
        self._pieces.append(piece)
        if self._inspect is not None and self.size >= SNIFF_BYTES:
            inspect, self._inspect = self._inspect, None
            inspect(b"".join(self._pieces)[:SNIFF_BYTES])

    def content(self) -> bytes:
        content = b"".join(self._pieces)
        if self._inspect is not None:  # shorter than SNIFF_BYTES
            inspect, self._inspect = self._inspect, None
            inspect(content)
        return content


async def read_body(
    response: httpx.Response,
    limits: FetchLimits,
    *,
    inspect: Callable[[bytes], None] | None = None,
) -> bytes:
    """The decoded body of a streamed response, read within `limits`.

    `inspect` sees the first SNIFF_BYTES decoded bytes (or the whole body if
    shorter) as soon as they arrive, and may raise to stop reading.
    Raises TooLarge, UnsupportedContent (unknown encoding) or FetchError.
    """
    body = BoundedBody(limits, inspect)
    decoder = make_decoder(response.headers.get("content-encoding", ""), body.append)
    if decoder is None:
        declared = parse_ascii_decimal(response.headers.get("content-length", ""), maximum=MAX_CONTENT_LENGTH)
        if declared is not None and declared > limits.max_bytes:
            raise TooLarge(f"the body is {declared} bytes, more than {limits.max_bytes}")
        async for chunk in response.aiter_raw():
            body.append(chunk)
    else:
        wire = 0
        async for chunk in response.aiter_raw():
            # In slices, so the ratio is judged on the input actually consumed:
            # 64 KiB of a bomb would otherwise pass as allowing 200 x 64 KiB.
            for start in range(0, len(chunk), RATIO_STEP):
                piece = chunk[start : start + RATIO_STEP] if len(chunk) > RATIO_STEP else chunk
                wire += len(piece)
                body.wire = wire
                decoder.feed(piece)
        decoder.finish()
    return body.content()
