"""Loopback servers for the fetcher tests: raw asyncio HTTP, a canary, a black hole."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache

import brotli
import zstandard

MB = 1024 * 1024


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]


Handler = Callable[[Request, asyncio.StreamWriter], Awaitable[bool]]  # returns keep-alive


def head(status: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(
    status: str = "200 OK",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
    content_type: str | None = "text/html; charset=utf-8",
) -> Handler:
    """A well-formed keep-alive response."""
    fields = [] if content_type is None else [("Content-Type", content_type)]
    fields += [*(headers or []), ("Content-Length", str(len(body)))]
    data = head(status, fields) + body

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(data)
        await writer.drain()
        return True

    return handler


def raw(*parts: bytes, delay_s: float = 0.0, keep_alive: bool = False) -> Handler:
    """Send these bytes as they are (optionally one part per `delay_s`), then close."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        for part in parts:
            writer.write(part)
            await writer.drain()
            if delay_s:
                await asyncio.sleep(delay_s)
        return keep_alive

    return handler


def stream(
    first: bytes, unit: bytes, times: int, headers: list[tuple[str, str]]
) -> Handler:
    """A close-delimited body: `first`, then `unit` repeated, as long as the client reads."""

    async def handler(request: Request, writer: asyncio.StreamWriter) -> bool:
        writer.write(head("200 OK", [*headers, ("Connection", "close")]) + first)
        for _ in range(times):
            writer.write(unit)
            await writer.drain()
        return False

    return handler


def redirect(location: str, status: str = "302 Found", **extra: str) -> Handler:
    headers = [("Location", location), *((k.replace("_", "-"), v) for k, v in extra.items())]
    return reply(status, b"moved", headers=headers)


@dataclass
class HTTPServer:
    """A raw HTTP/1.1 server on loopback: every byte it sends is the test's choice."""

    host: str = "127.0.0.1"
    port: int = 0
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    async def start(self) -> HTTPServer:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def wait_for_request(self, path: str) -> None:
        while not any(r.path == path for r in self.requests):
            self._arrived.clear()
            await self._arrived.wait()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        cancelled = False
        try:
            while True:
                try:
                    data = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                request = _parse(data)
                self.requests.append(request)
                self._arrived.set()
                handler = self.routes.get(request.path.partition("?")[0])
                if handler is None:
                    handler = reply("404 Not Found", b"no such route")
                if not await handler(request, writer):
                    return
        except ConnectionError:
            pass
        except asyncio.CancelledError:
            cancelled = True
        finally:
            self._tasks.discard(task)
            if cancelled:  # teardown: drop whatever is still buffered
                writer.transport.abort()
            else:
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()


def _parse(data: bytes) -> Request:
    lines = data.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers)


class FakeDNS:
    """Plays DNS: answers from a table, or from a function of how often a name was asked."""

    def __init__(self, answers: dict[str, list[str] | Callable[[int], list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answer = self._answers.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answer(self.lookups.count(host)) if callable(answer) else list(answer)


class Canary:
    """Listening sockets nobody accepts on: any connection attempt shows in their queue.

    The kernel completes the handshake whether or not we accept, so counting
    what is queued proves, without any waiting, whether anything connected.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.bind((host, port))
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.hits = 0

    def contacted(self) -> int:
        """How many connections arrived so far."""
        while True:
            try:
                conn, _ = self._sock.accept()
            except BlockingIOError:
                return self.hits
            conn.close()
            self.hits += 1

    def close(self) -> None:
        self.contacted()
        self._sock.close()


class BlackHole:
    """A listener whose accept queue is full, so new connections hang (connect timeout)."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(0)
        self.port: int = self._sock.getsockname()[1]
        self._fillers: list[socket.socket] = []
        for _ in range(8):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def close(self) -> None:
        for filler in self._fillers:
            filler.close()
        self._sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# Bombs: tiny on the wire, huge once decoded.


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
    return b"".join(c.process(zeros) for _ in range(mib)) + c.finish()


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
