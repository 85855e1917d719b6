"""Tracking one page: compare it with the last look of the same URL, and what that writes and publishes.

The last look is found in O(1): one key per (owner, URL), or per (schedule,
URL) for a schedule's runs (`Keyspace.owner_watch`, `schedule_watch`), holding the job id and
the page's `Snapshot`. Old results are never read: they expire with their job
(RETENTION_S), a baseline lives CHANGES_TTL_S after it was last written.

Nothing here writes: `track_page` reads the baseline and hands back the
commands that replace it (and, for a schedule, add to its history), for the
fenced script that stores the page. A look counts only once its page is
stored, and a stale attempt writes no baseline.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from jobs.changes.compare import Change, Snapshot, compare
from jobs.changes.history import history_commands
from streams.keys import Keyspace
from streams.publish import ThenCommand

# What a tracked page is extracted with, whatever the client asked for: the comparison needs both.
TRACKING_FORMATS: Final = frozenset({"markdown", "product"})


@dataclass(frozen=True, slots=True)
class ChangeLimits:
    """How long a baseline and a schedule's history live, and how many changes a history keeps."""

    ttl_s: int = 30 * 86_400
    history_max: int = 1_000


@dataclass(frozen=True, slots=True)
class Watch:
    """Whose earlier looks a tracked job compares with: its schedule's when it has one, else its owner's."""

    owner: str
    schedule: str | None
    limits: ChangeLimits

    def page_key(self, keys: Keyspace, url: str) -> str:
        """The key of the last look at `url` that this watch compares with."""
        if self.schedule is not None:
            return keys.schedule_watch(self.schedule, url_digest(url))
        return keys.owner_watch(self.owner, url_digest(url))


def url_digest(url: str) -> str:
    """A fixed-length name for a URL in a key (URLs run to 2,048 characters)."""
    return hashlib.sha256(url.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class TrackedPage:
    """A page compared: its change, the commands that record this look, and the `changed` event's data if any."""

    change: Change
    commands: tuple[ThenCommand, ...]
    changed_event: dict[str, Any] | None


async def track_page(
    redis: Redis, keys: Keyspace, watch: Watch, job_id: str, url: str, document: dict[str, Any]
) -> TrackedPage:
    """Compare `document` (extracted with TRACKING_FORMATS) with the last look at `url` in the watch's scope."""
    baseline_key = watch.page_key(keys, url)
    raw = await redis.get(baseline_key)
    previous = Snapshot.from_json(raw) if raw is not None else None
    current = Snapshot.of(document, job_id)
    change = compare(previous, current)
    commands = [ThenCommand("SET", baseline_key, (current.to_json(), "EX", watch.limits.ttl_s))]
    if watch.schedule is not None and change.status != "same":
        commands += history_commands(keys, watch.schedule, watch.limits.history_max, watch.limits.ttl_s,
                                     {"job": job_id, "url": url, **change.to_dict()})
    event = {"url": url, "change": change.to_dict()} if change.status == "changed" else None
    return TrackedPage(change, tuple(commands), event)


def shown_document(document: dict[str, Any], asked: frozenset[str], change: Change) -> bytes:
    """The result entry: what the client asked for (not what tracking extracted besides), with its `change`."""
    if "markdown" not in asked:
        document["markdown"] = None
    if "product" not in asked:
        document["product"] = None
    document["change"] = change.to_dict()
    return orjson.dumps(document)
