"""The web app under uvicorn in a child process: a test can `kill -9` it and start it again."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from jobs.settings import Settings

from .redis_server import free_port

ROOT = Path(__file__).resolve().parent.parent.parent


def settings_env(settings: Settings, **overrides: str) -> dict[str, str]:
    """The environment that makes a child's `Settings()` equal these settings."""
    env = {name.upper(): str(value) for name, value in settings.model_dump().items()
           if isinstance(value, str | int | float)}
    env.update({name.upper(): value for name, value in overrides.items()})
    return env


class WebProcess:
    """`uvicorn service.app:create_app --factory` on a fixed loopback port, restartable."""

    def __init__(self, env: Mapping[str, str], port: int | None = None) -> None:
        self.env = {**os.environ, **env}
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_dir = Path(tempfile.mkdtemp(prefix="ss-web-"))
        self.log_path = self.log_dir / "uvicorn.log"  # read when a start fails

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> WebProcess:
        """Start it and wait until it answers HTTP."""
        assert self.process is None, "already running"
        args = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                "--no-access-log", "--lifespan", "on", "--timeout-graceful-shutdown", "1"]
        with self.log_path.open("ab") as log:
            self.process = await asyncio.to_thread(
                subprocess.Popen, args, cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            for _ in range(600):
                if self.process.poll() is not None:
                    self.process = None
                    raise RuntimeError(f"uvicorn exited: {self.log_path.read_text(errors='replace')}")
                with contextlib.suppress(httpx.TransportError):
                    await client.get("/health")
                    return self
                await asyncio.sleep(0.05)
        raise RuntimeError("uvicorn did not start within 30 s")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no goodbye to open streams, as in a crash."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    async def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


@contextlib.asynccontextmanager
async def web_process(settings: Settings, **overrides: str) -> AsyncIterator[WebProcess]:
    web = WebProcess(settings_env(settings, **overrides))
    try:
        yield await web.start()
    finally:
        await web.stop()
        shutil.rmtree(web.log_dir, ignore_errors=True)
