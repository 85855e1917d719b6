"""A schedule's history of changes: one capped, expiring Redis stream per schedule, read newest first.

Each entry is one page that was `new` or `changed` on a run of the schedule
(`same` looks are not kept): `{"job", "url", "status", "previous_job",
"diff", "fields"}`, plus `at` (the entry's time) and `id` (its stream id) when
read. The stream keeps the newest CHANGES_HISTORY_MAX entries and expires
CHANGES_TTL_S after the last one.
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.keys import Keyspace
from streams.publish import ThenCommand


def history_commands(keys: Keyspace, schedule_id: str, maxlen: int, ttl_s: int,
                     entry: dict[str, Any]) -> list[ThenCommand]:
    """Append one change to the schedule's history (for the script that stores the page)."""
    key = keys.schedule_changes(schedule_id)
    return [ThenCommand("XADD", key, ("MAXLEN", "~", maxlen, "*", "data", orjson.dumps(entry))),
            ThenCommand("EXPIRE", key, (ttl_s,))]
