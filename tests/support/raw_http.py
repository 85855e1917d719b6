"""A raw HTTP/1.1 server on loopback, and handlers that send exactly the bytes a test chooses."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

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
