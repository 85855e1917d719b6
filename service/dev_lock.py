"""One `make run` per directory: a second one would start a second Redis on the same AOF.

The lock is an flock on `.data/dev.lock`, held for the life of `scrapestream dev`:
the kernel releases it when the process dies, however it dies, so a killed run
leaves no stale lock behind. The file holds the pid and the web port of its
holder, for the message a second run prints; it is never deleted (deleting a
locked file lets a third run lock a new one beside a second that still waits).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from .dev_redis_record import DATA_DIR

LOCK_FILE = DATA_DIR / "dev.lock"


class AlreadyRunning(SystemExit):
    """Another `scrapestream dev` holds this directory: exits 1 with a message that says which."""


def hold_dev_lock(web_port: int) -> IO[str]:
    """Lock this directory's `.data/` for this run; the open file is the lock, kept until the process ends."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # "a+", not "w": opening must not empty the file another run holds, whose pid the message shows.
    lock = LOCK_FILE.open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise AlreadyRunning(
            f"scrapestream dev: another `make run` is already running in {Path.cwd()} ({holder}).\n"
            "It owns .data/ and its Redis; use that one, stop it first (Ctrl-C in its terminal), "
            "or start this one from another directory."
        ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}, web on port {web_port}\n")
    lock.flush()
    return lock
