"""Garbage collection in a web process that holds thousands of connections: no full collection mid-burst.

CPython runs a full (generation 2) collection once a quarter more objects
have survived into the oldest generation than the last one left there, and
it walks every object of the process. 2,000 SSE followers attaching at once
make hundreds of thousands of such objects, so full collections ran in the
middle of the burst: bench/stalled_followers.py counted 5 during one attach,
the longest 632 ms on a loaded machine, and a normal follower's p99 went
with them (1.07 s; 63 ms with full collections held off, on the same
machine). A dropped connection is freed by reference counting (nothing of it
is left in a cycle, see service/sse.py), so full collections are only needed
for what else forms cycles: one every `FULL_EVERY` generation-1 collections.
"""

from __future__ import annotations

import gc

FULL_EVERY = 1_000
"""Generation-1 collections between two full ones (CPython's default is 10)."""


def hold_off_full_collections() -> None:
    """Space full collections out; the young generations are collected as before."""
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
