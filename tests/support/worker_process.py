"""`scrapestream worker` in a child process: a test can SIGKILL it, SIGTERM it, and read what it logs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence

from jobs.settings import Settings

from .process import ROOT, settings_env


class WorkerProcess:
    """One worker process; its log lines (stderr) are kept, and a test can wait for one."""

    def __init__(self, env: Mapping[str, str], args: Sequence[str] = ()) -> None:
        self.env = {**os.environ, "LOG_LEVEL": "INFO", **env}
        self.args = list(args)  # after `scrapestream worker`: `--kinds crawl,batch`
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._new_line = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The name the worker gives itself (`jobs.worker.runner.worker_name`): its `started` events carry it."""
        assert self.process is not None
        return f"{socket.gethostname()}:{self.process.pid}"

    async def start(self) -> WorkerProcess:
        """Start it and wait until it says it is ready for jobs."""
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service.cli", "worker", *self.args, cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read_lines())
        await self.wait_for_line("ready for")
        return self

    async def _read_lines(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        async for raw in self.process.stderr:
            async with self._new_line:
                self.lines.append(raw.decode(errors="replace").rstrip())
                self._new_line.notify_all()
        async with self._new_line:
            self._new_line.notify_all()  # the end: waiters stop waiting

    async def wait_for_line(self, text: str, where: Callable[[str], bool] = lambda _line: True,
                            timeout_s: float = 60) -> str:
        """The first log line that contains `text` (and for which `where` holds); a safety timeout, not an
        assertion on time."""
        async with asyncio.timeout(timeout_s), self._new_line:
            while True:
                for line in self.lines:
                    if text in line and where(line):
                        return line
                if self._reader is not None and self._reader.done():
                    raise AssertionError(f"worker exited before logging {text!r}:\n" + "\n".join(self.lines))
                await self._new_line.wait()

    def send_signal(self, signum: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    async def wait(self, timeout_s: float = 60) -> int:
        """Its exit status, once it has exited."""
        assert self.process is not None
        async with asyncio.timeout(timeout_s):
            status = await self.process.wait()
            if self._reader is not None:
                await self._reader
        return status

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye, as in a crash."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader


@contextlib.asynccontextmanager
async def worker_process(settings: Settings, args: Sequence[str] = (), **overrides: str
                         ) -> AsyncIterator[WorkerProcess]:
    """A started worker process with these settings (and environment overrides, and `scrapestream worker`
    arguments); killed on exit if still up."""
    worker = WorkerProcess(settings_env(settings, **overrides), args)
    try:
        yield await worker.start()
    finally:
        await worker.kill()
