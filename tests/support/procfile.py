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


@contextlib.contextmanager
def procfile_web(env: Mapping[str, str]) -> Iterator[str]:
    """The Procfile's `web:` line on a free port; yields its loopback base URL once `/health` answers."""
    port = free_port()
    with procfile_process("web", env, port=port) as process:
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # a safety net while it starts, not a timing assertion
            if process.poll() is not None:
                output = process.log_path.read_text(errors="replace")[-4000:]  # type: ignore[attr-defined]
                raise RuntimeError(f"the Procfile's web: line exited with {process.returncode}: "
                                   f"{shlex.join(['sh', '-c', procfile_command('web')])}\n{output}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(base_url + "/health", timeout=2)
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the Procfile's web: line did not answer within 30 s")
        yield base_url
