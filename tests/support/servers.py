"""Real uvicorn servers on loopback: in the test's loop, or in a thread of their own."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    # IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every small response waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class PromptServer(uvicorn.Server):
    """A uvicorn server that stops the moment it is asked to.

    uvicorn's own main loop looks at `should_exit` every 0.1 s, a wait every test
    that starts a server would pay again at its end; `stop()` ends it at once.
    Without the loop's ticks, the Date header keeps the time the server started.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if not self.should_exit:
            await self._stopping.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, minus its fixed 0.1 s pause: every test that starts a server paid it.

        The same steps (stop listening, ask open connections to close, give them and their
        tasks `timeout_graceful_shutdown`, then the lifespan's shutdown), but the wait for
        connections ends the moment the last one is gone, and costs nothing when none is open.
        """
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        try:
            async with asyncio.timeout(self.config.timeout_graceful_shutdown):
                while (self.server_state.connections  # noqa: ASYNC110 - uvicorn's state has no event to wait on
                       or self.server_state.tasks) and not self.force_exit:
                    await asyncio.sleep(0.005)
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    def stop(self) -> None:
        """Ask the server to shut down; safe to call from any thread, before or after it started."""
        self.should_exit = True
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop stopped meanwhile: it has exited anyway
                loop.call_soon_threadsafe(stopping.set)


def _config(app: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app, lifespan="on", log_level="warning", timeout_graceful_shutdown=1, access_log=False,
        ws="none",
    )


@contextlib.asynccontextmanager
async def serve_in_loop(app: Any) -> AsyncIterator[str]:
    """Serve `app` from the running loop; yields its base URL."""
    sock = bound_socket()
    server = PromptServer(_config(app))
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # the test runner owns signals
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        await task
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `app` from a thread with its own loop, so the test loop cannot starve it."""
    sock = bound_socket(host)
    server = PromptServer(_config(app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("loopback server failed to start")
            threading.Event().wait(0.01)
        addr, port = sock.getsockname()
        yield f"http://{addr}:{port}"
    finally:
        server.stop()
        thread.join(10)
        sock.close()
