"""One worker's share of a crawl or batch: take URLs from the shared state, fetch, extract, complete.

A crawl (or batch) is spread over every worker: its coordinator (the job's
own arq job, `jobs.kinds.crawl` / `jobs.kinds.batch`) and its parts (one arq
job per other live worker, `crawl_part`) each run a `Participant` over the
same state in Redis (`jobs.store.crawl_state`). A participant runs up to
CRAWL_CONCURRENCY pages at once. Each page's lease was taken by a script, so
a page is fetched by one worker at a time; its completion, one script too,
stores it, publishes its `page` event (naming this worker) and hands the
participant its next URLs, so a busy participant costs about one round trip
a page. Links are filtered here first (each participant's own considered
set, then scope, then normalization), so the script sees only new in-scope
URLs of pages that may go deeper.

When there is nothing to take, a participant waits for `crawl <job id>` on
the wake channel (`CrawlWakes`), published by the completion that queues more
or ends the crawl, or until the earliest lease lapses (its holder died: the
page is taken again). A participant ends when the crawl is over (nothing
queued and nothing leased, or the limit reached) or sealed (cancelled,
failed, completed); arq's abort cancels it at once on a cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import orjson
from redis.asyncio import Redis

from jobs.crawl import RobotsCache, ScopeRules, dedupe_key, normalize_url
from jobs.crawl.robots import RobotsRules, rules_from_source
from jobs.errors import JobError
from jobs.fetch import validate_url
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.page_work import PageOutcome, PageWork, process_page
from jobs.lifecycle.attempt import JobEnv, queue_webhooks
from jobs.models import WebhookSpec
from jobs.queue.claim import part_of
from jobs.store.crawl_state import Completed, CrawlState, Leased
from jobs.store.pages import error_entry
from streams.events import EventType, encode_data, now_ms
from streams.publish import PendingEvent

logger = logging.getLogger("scrapestream.jobs")

# Links already judged, per participant: most pages repeat the same navigation, and judging a link
# (normalize, scope, hash) costs more than this lookup.
MAX_CONSIDERED = 500_000
# The wake channel's message for a crawl: `crawl <job id>`.
CRAWL_WAKE_PREFIX = b"crawl "


PageHook = Callable[[PageOutcome, dict[str, Any]], Awaitable[PageOutcome]]
"""Sees each fetched page of a crawl or batch before its completion (with its `page` event's data, which it
may add to) and returns the outcome to store: where a per-page feature such as `track_changes` plugs in."""


@dataclass(frozen=True, slots=True)
class CrawlLimits:
    concurrency: int
    per_host: int
    delay_s: float
    user_agent: str
    lease_s: float = 10.0


def url_tag(normalized: str) -> str:
    """A URL's 64-bit dedupe key, in hex: the same in every worker (Python's `hash` is not)."""
    return hashlib.blake2b(dedupe_key(normalized).encode(), digest_size=8).hexdigest()


class CrawlWakes:
    """The crawls this process waits on, woken by `crawl <job id>` on the wake channel."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    @contextlib.contextmanager
    def watch(self, job_id: str, event: asyncio.Event) -> Any:
        self._waiting.setdefault(job_id, set()).add(event)
        try:
            yield
        finally:
            waiting = self._waiting.get(job_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiting[job_id]

    def is_own_part(self, arq_id: str) -> bool:
        """Whether `arq_id` is a part (`cp-<job id>-<n>`) of a crawl this process already takes part in."""
        return part_of(arq_id) in self._waiting

    def wake(self, message: bytes) -> bool:
        """Wake the participants a wake-channel message names; whether it was a crawl's message."""
        if not message.startswith(CRAWL_WAKE_PREFIX):
            return False
        for event in self._waiting.get(message[len(CRAWL_WAKE_PREFIX):].decode(errors="replace"), ()):
            event.set()
        return True


def shared_robots(redis: Redis, state: CrawlState, work: PageWork, limits: CrawlLimits) -> RobotsCache:
    """A RobotsCache reading each origin's rules from the crawl's state: fetched by the first worker only.

    That worker also notes the origin's Crawl-delay (ms) where the take script reads it.
    """
    key = state.keys.crawl_robots(state.job_id)

    async def load(origin: str) -> RobotsRules:
        raw = await redis.hget(key, origin)  # type: ignore[misc]
        if raw:
            kept = orjson.loads(raw)
            return rules_from_source(origin, kept["verdict"], kept["detail"], kept["source"])
        rules = await cache.fetch_rules(origin)
        delay = cache.capped_delay(rules, limits.user_agent)
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, origin, orjson.dumps({"verdict": rules.verdict, "detail": rules.detail,
                                                   "source": rules.source}).decode())
            if delay:
                pipe.hset(state.keys.crawl(state.job_id), f"delay {urlsplit(origin).netloc}", str(int(delay * 1000)))
            await pipe.execute()
        return rules

    cache = RobotsCache(work.fetcher.fetch, load=load)
    return cache


@dataclass(frozen=True, slots=True)
class CrawlScope:
    """What a crawl's participant needs to judge links: its scope and depth bound (None for a batch)."""

    rules: ScopeRules
    max_depth: int
    robots: RobotsCache | None


@dataclass(slots=True)
class Participant:
    """One worker's share of one crawl or batch (see the module docstring)."""

    env: JobEnv
    state: CrawlState
    holder: str  # names this participant in each lease it takes
    attempt: int  # the job's attempt, named in its page events
    fence: tuple[str, int] | None  # the coordinator's attempt fence; None for a part (its leases fence it)
    work: PageWork
    policy: AddressPolicy
    limits: CrawlLimits
    scope: CrawlScope | None  # None: a batch
    wakes: CrawlWakes
    webhook: WebhookSpec | None = None
    page_hook: PageHook | None = None
    _held: set[str] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _nudge: asyncio.Event = field(default_factory=asyncio.Event)
    _considered: set[str] = field(default_factory=set)
    _over: bool = False
    _stop: BaseException | None = None

    @property
    def _job_id(self) -> str:
        return self.state.job_id

    def _free(self) -> int:
        return self.limits.concurrency - len(self._tasks)

    def joined(self) -> Any:
        """While inside: this process takes part in the crawl (woken by its messages; passes over its parts)."""
        return self.wakes.watch(self._job_id, self._nudge)

    async def run(self) -> None:
        """Take part until the crawl is over; CrawlEnded / CrawlSuperseded if it was ended or taken over.

        Run it inside `joined()`.
        """
        renewing = asyncio.create_task(self._renew_forever())
        try:
            await self._feed()
        finally:
            renewing.cancel()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(renewing, *self._tasks, return_exceptions=True)
            with contextlib.suppress(Exception):  # a dead holder's entry lapses on its own
                await self.state.leave(self.env.redis, self.holder)

    async def _feed(self) -> None:
        lease_ms = int(self.limits.lease_s * 1000)
        while True:
            if self._stop is not None:
                raise self._stop
            self._nudge.clear()
            timeout: float | None = None
            free = self._free()
            if free > 0 and not self._over:
                taken = await self.state.take(self.env.redis, holder=self.holder, fence=self.fence, now_ms=now_ms(),
                                              lease_ms=lease_ms, count=free)
                for leased in taken.leased:
                    self._start(leased)
                if taken.over:
                    self._over = True
                elif not taken.leased:
                    # Woken by a completion; at the latest when the first lease lapses (its holder died).
                    timeout = max(0.0, (taken.retry_at_ms - now_ms()) / 1000) + 0.05
            if self._over and not self._tasks:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._nudge.wait()

    def _start(self, leased: Leased) -> None:
        self._held.add(leased.member)
        task = asyncio.create_task(self._work_from(leased))
        self._tasks.add(task)
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and self._stop is None:
            self._stop = task.exception()
        self._nudge.set()

    async def _work_from(self, leased: Leased) -> None:
        """Do a page, then each next one its completion hands over (the rest go to new tasks)."""
        item: Leased | None = leased
        while item is not None:
            if item.wait_s > 0:
                await asyncio.sleep(item.wait_s)  # the politeness gap the take reserved for this host
            done = await self._do(item)
            self._held.discard(item.member)
            if done.over:
                self._over = True
            item = None
            for index, following in enumerate(done.next):
                if index == 0:
                    self._held.add(following.member)
                    item = following
                else:
                    self._start(following)

    async def _do(self, item: Leased) -> Completed:
        counted: bool = True
        landed: str | None = None
        links: list[tuple[str, str]] = []
        if self.scope is None:
            outcome, data = await self._batch_page(item)
        else:
            outcome, data, counted, landed, links = await self._crawl_page(item, self.scope)
        if self.page_hook is not None and counted:
            outcome = await self.page_hook(outcome, data)
        if outcome.error_code:
            data["error"] = outcome.error_code
        data.update(attempt=self.attempt, worker=self.env.worker_name)
        event = encode_data(data)
        env = self.env
        done = await self.state.complete(
            env.redis, holder=self.holder, member=item.member, fence=self.fence, now_ms=now_ms(),
            maxlen=env.queue.limits.maxlen, ttl_s=env.queue.limits.ttl_s, counted=counted, entry=outcome.entry,
            event_data=event, error_code=outcome.error_code if counted else None, landed_tag=landed,
            link_depth=item.depth + 1, links=links, take=1 + max(0, self._free()),
            lease_ms=int(self.limits.lease_s * 1000),
            wake=(env.queue.keys.wake_channel(), (CRAWL_WAKE_PREFIX + self._job_id.encode()).decode()))
        if done.lost:
            logger.info("page %s: its lease went to another worker; that one's result counts", outcome.url)
        elif self.webhook is not None:
            await self._deliver(done, event)
        return done

    async def _batch_page(self, item: Leased) -> tuple[PageOutcome, dict[str, Any]]:
        url = item.url
        try:
            checked = validate_url(url, self.policy)
        except JobError as exc:
            outcome = PageOutcome(url, error_entry(url, exc.code, exc.message), None, None, error_code=exc.code)
        else:
            outcome = await process_page(checked, self.work)
        return outcome, {"url": url, "status": outcome.status, "title": outcome.title, "index": item.depth}

    async def _crawl_page(self, item: Leased, scope: CrawlScope) -> tuple[
            PageOutcome, dict[str, Any], bool, str | None, list[tuple[str, str]]]:
        url, depth = item.url, item.depth
        robots = scope.robots
        if robots is not None and not await robots.allowed(url, self.limits.user_agent):
            skipped = PageOutcome(url, error_entry(url, "robots_disallowed", "robots.txt disallows this page"),
                                  None, None, error_code="robots_disallowed")
            # Its place in the limit goes to a page we may fetch.
            return skipped, {"url": url, "status": None, "title": None, "depth": depth}, False, None, []
        outcome = await process_page(url, self.work, need_links=True)
        landed = None
        if outcome.final_url is not None and outcome.final_url != url:
            final = normalize_url(outcome.final_url)
            if final is not None and (tag := url_tag(final)) != item.member.split(" ", 1)[0]:
                landed = tag  # a redirect: a page this crawl already has gives its place back
        return (outcome, {"url": outcome.url, "status": outcome.status, "title": outcome.title, "depth": depth},
                True, landed, self._new_links(outcome, depth, scope) if depth < scope.max_depth else [])

    def _new_links(self, outcome: PageOutcome, depth: int, scope: CrawlScope) -> list[tuple[str, str]]:
        links: list[tuple[str, str]] = []
        considered = self._considered
        for link in outcome.links:
            if link in considered:
                continue
            if len(considered) < MAX_CONSIDERED:
                considered.add(link)
            if scope.rules.allows(link):
                normalized = normalize_url(link)
                if normalized is not None:
                    tag = url_tag(normalized)
                    links.append((tag, f"{tag} {normalized}"))
        return links

    async def _deliver(self, done: Completed, page_event: bytes) -> None:
        """Webhook deliveries of the events the completion appended (it returned their ids)."""
        assert self.webhook is not None
        delivered = [(done.page_event_id, PendingEvent(EventType.PAGE, page_event))]
        if done.progress_event_id:
            delivered.append((done.progress_event_id, PendingEvent(EventType.PROGRESS, done.progress_data)))
        env = self.env
        async with env.redis.pipeline(transaction=False) as pipe:
            if queue_webhooks(pipe, env.queue, self._job_id, self.webhook, delivered):
                await pipe.execute()

    async def _renew_forever(self) -> None:
        every_s = self.limits.lease_s / 4
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.state.renew(self.env.redis, holder=self.holder, members=list(self._held),
                                       deadline_ms=now_ms() + int(self.limits.lease_s * 1000))
            except Exception:
                logger.warning("renewing the page leases of %s failed", self._job_id, exc_info=True)
