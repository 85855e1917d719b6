"""When a schedule runs: every N seconds, or a cron expression in a time zone, each tick offset by its jitter.

A tick is the nominal time of a run (ms since the epoch); the run is due at the
tick plus a jitter offset that is the same for the same schedule and tick (so
every worker computes the same due time) and spreads schedules that tick at the
same second over [0, jitter_s].

Cron expressions are read by cronsim (5 fields, or 6 with seconds first; `L`,
`W` and `#` too) in the schedule's IANA time zone
(zoneinfo, with the tzdata package so a slim machine has every zone). Across a
DST change cronsim does what Debian's cron does: a time that does not exist in
spring forward runs once, at the first instant after the gap; a time that
occurs twice in the fall back runs once, at its first occurrence.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

# How many upcoming runs a schedule shows (`next_runs`), and how many a cron's shortest gap is judged on.
UPCOMING = 5


def cron_error(expression: str) -> str | None:
    """Why a cron expression cannot be read, or None."""
    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as exc:
        return f"not a cron expression ({exc})"
    except (ValueError, IndexError, KeyError) as exc:  # cronsim raises these for some malformed input
        return f"not a cron expression ({exc})"
    return None


def zone_error(name: str) -> str | None:
    """Why `name` is not an IANA time zone, or None."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"not an IANA time zone: {name[:64]!r} (e.g. Europe/Paris, UTC)"
    return None


@dataclass(frozen=True, slots=True)
class Cadence:
    """How often a schedule ticks: `every_s` seconds from `anchor_ms`, or a cron expression in `timezone`."""

    every_s: int | None = None
    cron: str | None = None
    timezone: str = "UTC"
    jitter_s: int = 0
    # every_s: ticks fall on anchor + k * every_s (the anchor is when the cadence was set).
    anchor_ms: int = 0

    def next_tick(self, after_ms: int) -> int:
        """The first tick strictly after `after_ms`."""
        return next(self.ticks(after_ms))

    def tick_after_run(self, tick_ms: int, now_ms: int) -> int:
        """The tick that follows `tick_ms`'s run, made at `now_ms`.

        The next tick, unless even it is past (its whole jitter window too): then the service was down
        (or far behind) and the first tick after now follows, so the run just made was the one catch-up
        for every tick missed, not the first of a storm. Runs up to `jitter_s` late are no downtime.
        """
        following = self.next_tick(tick_ms)
        if following <= now_ms - self.jitter_s * 1000:
            return self.next_tick(now_ms)
        return following

    def ticks(self, after_ms: int) -> Iterator[int]:
        """Every tick strictly after `after_ms`, in order."""
        if self.every_s is not None:
            step = self.every_s * 1000
            first = self.anchor_ms + max(0, (after_ms - self.anchor_ms) // step + 1) * step
            return itertools.count(first, step)
        assert self.cron is not None
        zone = ZoneInfo(self.timezone)
        start = datetime.fromtimestamp(after_ms / 1000, UTC).astimezone(zone)
        return map(_ms, CronSim(self.cron, start))

    def upcoming(self, after_ms: int, count: int = UPCOMING) -> list[int]:
        return list(itertools.islice(self.ticks(after_ms), count))

    def shortest_gap_s(self, after_ms: int) -> float:
        """The shortest gap between two of the next runs: what the floor (`SCHEDULE_MIN_EVERY_S`) is held to."""
        if self.every_s is not None:
            return float(self.every_s)
        times = self.upcoming(after_ms, UPCOMING + 1)
        return min(b - a for a, b in itertools.pairwise(times)) / 1000

    def due_ms(self, schedule_id: str, tick_ms: int) -> int:
        """When the run of `tick_ms` is due: the tick plus its jitter offset."""
        return tick_ms + jitter_ms(schedule_id, tick_ms, self.jitter_s)


def jitter_ms(schedule_id: str, tick_ms: int, jitter_s: int) -> int:
    """A deterministic offset in [0, jitter_s] s for this schedule's tick: the same on every worker."""
    if jitter_s <= 0:
        return 0
    digest = hashlib.sha256(f"{schedule_id}:{tick_ms}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % (jitter_s * 1000 + 1)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def iso_ms(ms: int) -> str:
    """A time in ms as the API writes times: ISO 8601 UTC, to the millisecond."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
