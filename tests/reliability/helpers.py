"""Following jobs to the event a reliability test waits for (no sleeps: each wait ends on an event)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from tests.support.sse import read_sse
from tests.support.stack import Stack

Event = dict[str, Any]


async def events_until(stack: Stack, job_id: str, done: Callable[[list[Event]], bool]) -> list[Event]:
    """The job's events from the first, up to the one after which `done(events)` holds."""
    events: list[Event] = []
    async with contextlib.aclosing(read_sse(stack.client, f"/jobs/{job_id}/events")) as stream:
        async for event in stream:
            events.append(event)
            if done(events):
                return events
    raise AssertionError(f"job {job_id}'s stream ended first: {[e['type'] for e in events]}")


def started(count: int = 1) -> Callable[[list[Event]], bool]:
    """`done` for `events_until`: the job's `count`-th `started` has arrived."""
    return lambda events: sum(event["type"] == "started" for event in events) >= count


def terminal_events(events: list[Event]) -> list[Event]:
    return [event for event in events if event["type"] in ("completed", "failed", "cancelled")]
