"""Hand freed heap memory back to the OS after a burst of dropped connections.

When thousands of stalled SSE followers are aborted at once, what they held
is freed inside the process, but glibc keeps freed pages in the middle of its
heap, so the web process's RSS stays at its peak. `malloc_trim(0)` returns
them; one call, debounced, after the burst is enough. Elsewhere (another
libc, another OS) this does nothing.

What it cannot return is CPython's own small-object heap: 1 MiB arenas that
a few objects still alive keep (most of the ~45 MB that bench/stalled_followers.py
shows staying after 2,000 dropped followers; `sys._debugmallocstats()` counts
them). Objects of a dropped follower must not be left in reference cycles: a
full collection of them all costs the event loop a pause of ~100 ms.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging

logger = logging.getLogger("scrapestream.memory")

_TRIM_AFTER_S = 1.0


def _load_malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


_malloc_trim = _load_malloc_trim()
_scheduled: asyncio.TimerHandle | None = None
_trims = 0


def _trim() -> None:
    global _scheduled, _trims
    _scheduled = None
    if _malloc_trim is not None:
        _malloc_trim(0)
        _trims += 1


def heap_trims() -> int:
    """How many times this process has handed its freed heap back (`/metrics`: scrapestream_heap_trims)."""
    return _trims


def return_freed_memory_soon() -> None:
    """Trim the heap once, a moment after the last of a burst of drops (not once per drop)."""
    global _scheduled
    if _malloc_trim is None:
        return
    if _scheduled is not None:
        _scheduled.cancel()
    _scheduled = asyncio.get_running_loop().call_later(_TRIM_AFTER_S, _trim)
