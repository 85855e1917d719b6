"""Waiting for the runs of schedules: from the owner's activity stream (XREAD BLOCK), never by polling."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
from redis.asyncio import Redis

from streams.keys import Keyspace


class RunWatch:
    """Counts the runs each schedule submitted, as their `queued` events reach the owner's activity stream."""

    def __init__(self, redis: Redis, keys: Keyspace, owner: str = "public") -> None:
        self.redis = redis
        self.stream = keys.owner_activity(owner)
        self.last_id = "0"
        self.runs: Counter[str] = Counter()
        # The runs whose page changed (`changed` events), by schedule: their job ids, in order.
        self.changed: dict[str, list[str]] = {}

    async def _read(self, block_ms: int | None) -> int:
        """Take in what follows the last entry read (waiting up to `block_ms` for some); how many entries."""
        reply: Any = await self.redis.xread({self.stream: self.last_id}, block=block_ms, count=100)
        taken = 0
        for _stream, entries in reply or ():
            for entry_id, fields in entries:
                taken += 1
                self.last_id = entry_id.decode()
                record = orjson.loads(fields[b"data"])
                # A re-run of a job is `queued` again: only a job's first `queued` is a run.
                if fields[b"type"] == b"queued" and record.get("schedule") and record.get("attempt") == 0:
                    self.runs[record["schedule"]] += 1
                elif fields[b"type"] == b"changed" and record.get("schedule"):
                    self.changed.setdefault(record["schedule"], []).append(record["id"])
        return taken

    async def catch_up(self) -> None:
        """Take in everything the stream holds now, without waiting for more."""
        while await self._read(None):
            pass

    async def until(self, schedule_id: str, count: int, timeout_s: float = 60) -> int:
        """Wait until `schedule_id` has `count` runs in all (a safety timeout, not an assertion on time)."""
        async with asyncio.timeout(timeout_s):
            while self.runs[schedule_id] < count:
                await self._read(1_000)
        return self.runs[schedule_id]

    async def change(self, schedule_id: str, timeout_s: float = 60) -> str:
        """Wait for a run of `schedule_id` whose page changed; its job id."""
        async with asyncio.timeout(timeout_s):
            while not self.changed.get(schedule_id):
                await self._read(1_000)
        return self.changed[schedule_id][0]

    async def more(self, schedule_id: str, extra: int, timeout_s: float = 60) -> int:
        """Wait for `extra` runs of `schedule_id` beyond those seen so far."""
        await self.catch_up()
        return await self.until(schedule_id, self.runs[schedule_id] + extra, timeout_s)
