"""`scrapestream` as a user runs it: a child process talking HTTP to a real app and worker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.crawl_site import crawl_site_app
from tests.support.process import ROOT
from tests.support.servers import serve_in_thread

# A safety net against a hang, never a measure.
PATIENCE_S = 60

_JOB_LINE = re.compile(r"^job ([0-9a-f]{32}): ")


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines()]

    @property
    def job_id(self) -> str:
        """The job a submit command followed (its first stderr line names it)."""
        found = _JOB_LINE.match(self.stderr)
        assert found, self.stderr
        return found.group(1)


def cli_env(server_url: str, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("SCRAPESTREAM_")}
    env.update(SCRAPESTREAM_URL=server_url, NO_COLOR="1", **extra)
    return env


class RunningCli:
    """A `scrapestream` child whose stderr the test reads line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr_lines: list[str] = []

    async def stderr_line_matching(self, pattern: str) -> str:
        """Wait for (and return) the first stderr line matching `pattern`."""
        for line in self.stderr_lines:
            if re.search(pattern, line):
                return line
        assert self.process.stderr is not None
        async with asyncio.timeout(PATIENCE_S):
            while raw := await self.process.stderr.readline():
                line = raw.decode().rstrip("\n")
                self.stderr_lines.append(line)
                if re.search(pattern, line):
                    return line
        raise AssertionError(f"the command ended without printing {pattern!r}: {self.stderr_lines}")

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)  # what Ctrl-C sends

    async def finished(self) -> Finished:
        async with asyncio.timeout(PATIENCE_S):
            stdout, stderr = await self.process.communicate()
        lines = [*self.stderr_lines, *stderr.decode().splitlines()]
        assert self.process.returncode is not None
        return Finished(self.process.returncode, stdout.decode(), "\n".join(lines))


@contextlib.asynccontextmanager
async def started_cli(args: Sequence[str], server_url: str, *, stdin: bytes | None = None,
                      **env: str) -> AsyncIterator[RunningCli]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service.cli", *args, cwd=ROOT, env=cli_env(server_url, **env),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin)
        await process.stdin.drain()
        process.stdin.close()
    try:
        yield RunningCli(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def run_cli(args: Sequence[str], server_url: str, *, stdin: bytes | None = None, **env: str) -> Finished:
    """Run `scrapestream ARGS...` to its end (the app keeps serving meanwhile: it runs in this loop)."""
    async with started_cli(args, server_url, stdin=stdin, **env) as cli:
        return await cli.finished()


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """The small shop site of `tests.support.crawl_site`."""
    with serve_in_thread(crawl_site_app()) as base:
        yield base
