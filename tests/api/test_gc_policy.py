"""A running web app holds off full garbage collections (service/gc_policy.py).

What it is for — no full collection pausing every follower while thousands
attach — is measured by bench/stalled_followers.py; here, that it is in force.
"""

from __future__ import annotations

import gc

from service.gc_policy import FULL_EVERY
from tests.support.stack import Stack


async def test_a_started_web_app_spaces_full_collections_out(idle_stack: Stack) -> None:
    young, middle, full = gc.get_threshold()
    assert full == FULL_EVERY
    assert (young, middle) != (0, 0), "the young generations are still collected"
