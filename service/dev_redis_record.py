"""Where `make run` notes its embedded Redis, so that the CLI finds it from any directory.

`scrapestream dev` writes the URL twice: into `.data/redis-url` (next to the
AOF it serves) and into one absolute file in the user's state directory
($XDG_STATE_HOME/scrapestream/redis-url, else ~/.local/state/…), which a shell
in any directory can read. On exit it removes only a file that still holds its
own URL: a second `make run` elsewhere may have written the state file since.
A file whose Redis no longer answers (its `make run` was killed) is passed over.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DATA_DIR = Path(".data")
REDIS_URL_FILE = DATA_DIR / "redis-url"


def state_redis_url_file() -> Path:
    """The absolute file the latest `make run` notes its Redis in."""
    state_home = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state_home).resolve() / "scrapestream" / "redis-url"


def record_redis_url(url: str) -> list[Path]:
    """Note `url` in `.data/` and in the state directory; returns the files written, for `forget_redis_url`."""
    written = []
    for path in (REDIS_URL_FILE.resolve(), state_redis_url_file()):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(url + "\n")
        except OSError:
            continue  # a read-only home: `.data/` alone still serves this directory
        written.append(path)
    return written


def forget_redis_url(url: str, written: list[Path]) -> None:
    """Remove the files `record_redis_url` wrote that still name `url` (never another run's)."""
    for path in written:
        with contextlib.suppress(OSError):
            if path.read_text().strip() == url:
                path.unlink()


@dataclass(frozen=True)
class DevRedis:
    """What the search for `make run`'s Redis found: its URL, or None and where it looked."""

    url: str | None
    looked_in: tuple[str, ...]


def redis_answers(url: str) -> bool:
    """Whether something listens where `url` points (a note whose `make run` is gone points nowhere)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=0.5):
            return True
    except OSError:
        return False


def orphaned_redis_url() -> str | None:
    """The URL in `.data/redis-url` when its Redis still answers: checked by a run that holds the lock,
    it is the Redis of an earlier run killed before it could stop it, still serving `.data/redis`."""
    try:
        url = REDIS_URL_FILE.read_text().strip()
    except OSError:
        return None
    return url if url and redis_answers(url) else None


def find_dev_redis() -> DevRedis:
    """The Redis of a running `make run`: this directory's first, else the latest one anywhere."""
    looked_in = []
    for path in (REDIS_URL_FILE, state_redis_url_file()):
        looked_in.append(str(path))
        try:
            url = path.read_text().strip()
        except OSError:
            continue
        if url and redis_answers(url):
            return DevRedis(url, tuple(looked_in))
    return DevRedis(None, tuple(looked_in))
