"""A Procfile line run as it is (only `$PORT` filled in): what a PaaS would start, for tests to attack."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from .redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def procfile_command(name: str) -> str:
    for line in (ROOT / "Procfile").read_text().splitlines():
        process, sep, command = line.partition(":")
        if sep and process.strip() == name:
            return command.strip()
    raise KeyError(f"no {name}: line in the Procfile")


@contextlib.contextmanager
def procfile_process(
    name: str, env: Mapping[str, str], *, port: int | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run the Procfile's `name:` line under a shell, with this virtualenv's scripts first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    full_env = {**os.environ, **env, "PORT": str(port or free_port()),
                "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    log_dir = Path(tempfile.mkdtemp(prefix=f"ss-{name}-"))
    log_path = log_dir / "output.log"
    with log_path.open("ab") as log:
        # `exec`: the shell becomes the process, so terminating it stops the server itself.
        process = subprocess.Popen(["sh", "-c", "exec " + procfile_command(name)], cwd=ROOT, env=full_env,
                                   stdout=log, stderr=log)
    process.log_path = log_path  # type: ignore[attr-defined]  # read when a start fails
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(log_dir, ignore_errors=True)


@dataclass
class WebProcess:
    """The Procfile's `web:` process as a test attacks it: where it listens, and what it holds."""

    port: int
    pid: int  # `exec`: the shell's pid is uvicorn's
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def health(self) -> int:
        """`/health` on a connection of its own."""
        return httpx.get(self.base_url + "/health", timeout=30).status_code


@contextlib.contextmanager
def procfile_web_process(env: Mapping[str, str]) -> Iterator[WebProcess]:
    """The Procfile's `web:` line on a free port, once `/health` answers."""
    port = free_port()
    with procfile_process("web", env, port=port) as process:
        web = WebProcess(port, process.pid, process.log_path)  # type: ignore[attr-defined]
        for _ in range(600):  # a safety net while it starts, not a timing assertion
            if process.poll() is not None:
                output = web.log_path.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"the Procfile's web: line exited with {process.returncode}: "
                                   f"{shlex.join(['sh', '-c', procfile_command('web')])}\n{output}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(web.base_url + "/health", timeout=2)
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the Procfile's web: line did not answer within 30 s")
        yield web


@contextlib.contextmanager
def procfile_web(env: Mapping[str, str]) -> Iterator[str]:
    """The Procfile's `web:` line on a free port; yields its loopback base URL once `/health` answers."""
    with procfile_web_process(env) as web:
        yield web.base_url
