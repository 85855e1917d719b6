"""Listing an owner's jobs, newest first, with a stable cursor."""

from __future__ import annotations

import re
from dataclasses import dataclass

from redis.asyncio import Redis

from jobs.models import JobRecord, JobStatus
from jobs.store.records import record_from_hash
from streams.ascii_decimal import parse_ascii_decimal
from streams.keys import Keyspace

# How many index entries one page may look at when a status filter skips most of them.
MAX_SCAN = 2_000


@dataclass(frozen=True, slots=True)
class Page:
    jobs: list[JobRecord]
    next_cursor: str | None


# Scores are created-at milliseconds, kept as doubles by Redis: exact up to 2**53.
MAX_CURSOR_MS = 2**53
_CURSOR_ID = re.compile(r"[0-9A-Za-z]{1,64}")


def parse_cursor(cursor: str | None) -> tuple[float, str] | None:
    """A cursor is `<created ms>:<id>` of the last job of the previous page."""
    if not cursor:
        return None
    score_text, sep, job_id = cursor.partition(":")
    score = parse_ascii_decimal(score_text, maximum=MAX_CURSOR_MS)
    if not sep or score is None or not _CURSOR_ID.fullmatch(job_id):
        raise ValueError("cursor: not a cursor this service gave out")
    return float(score), job_id


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a listing keeps: by state, by kind, by a piece of URL (case-insensitive), by schedule."""

    status: JobStatus | None = None
    type: str | None = None
    url: str | None = None
    # The runs of one schedule.
    schedule: str | None = None

    def keeps(self, record: JobRecord) -> bool:
        if self.schedule is not None and record.schedule != self.schedule:
            return False
        if self.status is not None and record.status != self.status:
            return False
        if self.type is not None and record.type != self.type:
            return False
        if self.url:
            wanted = self.url.casefold()
            return any(wanted in url.casefold() for url in (record.url, *(record.urls or ())) if url)
        return True


async def list_jobs(
    redis: Redis, keys: Keyspace, owner: str, *, cursor: str | None, limit: int, where: JobFilter | None = None
) -> Page:
    """A page of the owner's jobs, newest first, that `where` keeps.

    A filter that skips most jobs still looks at no more than MAX_SCAN of them per
    page: the cursor then points past the last one looked at, and the next page goes on.
    """
    where = where or JobFilter()
    index = keys.owner_jobs(owner)
    last = parse_cursor(cursor)
    found: list[JobRecord] = []
    stale: list[str] = []
    scanned = 0
    exhausted = False
    while len(found) < limit and scanned < MAX_SCAN:
        want = limit * 2 + 1
        batch = await redis.zrevrangebyscore(
            index, last[0] if last else "+inf", "-inf", start=0, num=want, withscores=True
        )
        entries = [(member.decode(), score) for member, score in batch]
        if last is not None:
            # Equal scores come in reverse lexical order: skip up to the cursor's id.
            entries = [(m, s) for m, s in entries if s < last[0] or (s == last[0] and m < last[1])]
        if not entries:
            exhausted = True
            break
        async with redis.pipeline(transaction=False) as pipe:
            for job_id, _ in entries:
                pipe.hgetall(keys.record(job_id))
            raws = await pipe.execute()
        for (job_id, score), raw in zip(entries, raws, strict=True):
            scanned += 1
            last = (score, job_id)
            record = record_from_hash(raw)
            if record is None:
                stale.append(job_id)  # expired: its index entry goes too
            elif where.keeps(record):
                found.append(record)
                if len(found) == limit:
                    break
        if len(batch) < want and len(found) < limit:
            exhausted = True
            break
    if stale:
        await redis.zrem(index, *stale)
    next_cursor = None if exhausted or last is None else f"{int(last[0])}:{last[1]}"
    return Page(found, next_cursor)
