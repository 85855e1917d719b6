"""A tracked crawl: each page compared like a scrape, and at the end what it found new, changed, same and gone.

Each stored page (not a failed one) is compared with the last look at its URL
by the same key or schedule (`tracking.track_page`), and noted with how it
compared in the job's `looks` hash (`Keyspace.crawl_looks`), by commands that
ride with the page's own storage: whichever worker stores the page notes it.
When the crawl ends, `crawl_changes` counts that hash and compares its URLs
with the previous tracked crawl from the same start URL (a set per key or
schedule and start URL, `Keyspace.owner_crawl_watch`): `gone` is what that
crawl stored and this one did not (removed, failing now, or out of this
crawl's reach). The commands it returns replace that set, with `completed`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Final

import orjson
from redis.asyncio import Redis

from jobs.changes.tracking import TrackedPage, Watch, shown_document, track_page, url_digest
from streams.keys import Keyspace
from streams.publish import ThenCommand

# `gone_urls` names at most this many of the pages gone (`gone` counts them all).
GONE_LISTED: Final = 100
# URLs per SADD: a script unpacks its arguments on a stack of a few thousand slots.
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class TrackedCrawlPage:
    """A crawl's page compared: its entry (what was asked, with `change`) and what to store and publish with it."""

    entry: bytes
    tracked: TrackedPage
    commands: tuple[ThenCommand, ...]


def crawl_key(keys: Keyspace, watch: Watch, start_url: str) -> str:
    """The set of page URLs of the watch's last tracked crawl from `start_url`."""
    if watch.schedule is not None:
        return keys.schedule_crawl_watch(watch.schedule, url_digest(start_url))
    return keys.owner_crawl_watch(watch.owner, url_digest(start_url))


async def track_crawl_page(
    redis: Redis, keys: Keyspace, watch: Watch, job_id: str, url: str, entry: bytes, asked: frozenset[str],
    ttl_s: int,
) -> TrackedCrawlPage | None:
    """Compare a crawl's page (its entry, extracted with TRACKING_FORMATS); None for a failed page."""
    document: dict[str, Any] = orjson.loads(entry)
    if document.get("error") is not None:
        return None
    tracked = await track_page(redis, keys, watch, job_id, url, document)
    seen = keys.crawl_looks(job_id)
    noted = (ThenCommand("HSET", seen, (url, tracked.change.status)), ThenCommand("EXPIRE", seen, (ttl_s,)))
    return TrackedCrawlPage(shown_document(document, asked, tracked.change), tracked, (*tracked.commands, *noted))


async def crawl_changes(
    redis: Redis, keys: Keyspace, watch: Watch, job_id: str, start_url: str
) -> tuple[dict[str, Any], list[ThenCommand]]:
    """(the summary's `changes`: counts and the first GONE_LISTED gone URLs; the commands that make this crawl
    the one the next compares with, for the terminal publish)."""
    previous_key = crawl_key(keys, watch, start_url)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.crawl_looks(job_id))
        pipe.smembers(previous_key)
        raw_seen, raw_previous = await pipe.execute()
    seen = {url.decode(): status.decode() for url, status in raw_seen.items()}
    gone = sorted({url.decode() for url in raw_previous} - seen.keys())
    counts = Counter(seen.values())
    summary = {"new": counts["new"], "changed": counts["changed"], "same": counts["same"], "gone": len(gone),
               "gone_urls": gone[:GONE_LISTED]}
    urls = sorted(seen)
    commands = [ThenCommand("DEL", previous_key)]
    commands += [ThenCommand("SADD", previous_key, tuple(urls[at:at + _CHUNK])) for at in range(0, len(urls), _CHUNK)]
    commands += [ThenCommand("EXPIRE", previous_key, (watch.limits.ttl_s,)), forget_looks(keys, job_id)]
    return summary, commands


def forget_looks(keys: Keyspace, job_id: str) -> ThenCommand:
    """Drop what the crawl noted: when it is done, and when a new attempt starts over (with its first publish)."""
    return ThenCommand("DEL", keys.crawl_looks(job_id))
