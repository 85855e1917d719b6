"""A crawl's (or batch's) shared state in Redis: frontier, leases, seen set, counters, per-host slots.

Every worker that helps a crawl works from these keys, all hash-tagged with
the job's id (`Keyspace.crawl*`), so one script can touch the crawl's state
and the job's record, event stream and page list at once:

    crawl      hash: run (the arq id of the run that opened it), mode, limit, bounds, counters
               (pages, failed, skipped, dropped, "error <code>"), per host "held <host>" (slots
               taken now), "next <host>" (ms of the next allowed start), "delay <host>" (Crawl-delay)
    frontier   zset: "<tag> <url>" scored by depth (a batch: tag and score are the URL's position)
    leases     zset: members being fetched, scored by their lease's deadline (ms)
    holders    hash: member -> "<holder>\\t<depth>"
    seen       set: tags of every URL queued (the dedupe set), capped
    fetched    set: tags handed out, or landed on after a redirect

Three scripts do the work, one round trip each:

- `open` starts the run's state, or finds it there (a new attempt RESUMES the
  crawl it took over; a re-run, under a new arq id, starts afresh);
- `take` hands a holder up to n URLs: first those whose lease lapsed (their
  holder died), then the shallowest of the frontier, each only while the
  limit has room (`pages` + leased < `limit`) and its host has a free slot
  (`held` < HOST_CONCURRENCY); each gets a start time one politeness gap after
  the host's previous start, and a lease;
- `complete` ends a page: only while the page's lease is still the holder's
  (and, for the coordinator, its attempt's fence holds; never once the stream
  is sealed), it frees the host slot, counts the page, stores its entry, XADDs
  its `page` event (and `progress` when the percent moves), queues its new
  links (seen-set check, bounded), and takes the holder's next URL.

A page that gives its place back (robots.txt said no; a redirect to a page the
crawl has) is not counted, so `limit` stays exact however many workers help.
When a `take` finds nothing to hand out while pages are in flight, it marks the
crawl as waited on; the next `complete` publishes `crawl <job id>` on the
wake channel, and waiting participants take again (no polling).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from streams.keys import Keyspace
from streams.lua import LuaScript
from streams.publish import SEALED_FIELD

# Frontier members a take looks at, at least: those of full hosts are passed over.
TAKE_SCAN = 64
# Arguments one RPUSH of a script unpacks at most (Lua's C stack holds a few thousand).
_CHUNK = 500

_SEALED = f'local sealed = "{SEALED_FIELD}"\n'
_TAKE_LUA = _SEALED + """
local call = redis.call
local function host_of(member)
    local url = string.sub(member, (string.find(member, " ", 1, true) or 0) + 1)
    return string.lower(string.match(url, "^%a[%w+.-]*://([^/?#]*)") or "")
end
local function reserve(crawl, host, now)
    local gap = tonumber(call("HGET", crawl, "gap")) or 0
    local delay = tonumber(call("HGET", crawl, "delay " .. host))
    if delay and delay > gap then gap = delay end
    local start = tonumber(call("HGET", crawl, "next " .. host)) or 0
    if start < now then start = now end
    if gap > 0 then call("HSET", crawl, "next " .. host, start + gap) end
    return start
end
-- The crawl hash's count of `host` slots `holder` holds.
local function mine(host, holder)
    return "mine " .. host .. "\\t" .. holder
end
-- Up to n URLs for `holder`, flattened: member, depth, wait ms, member, ...
-- Each holder gets at most its share of a host's slots (the slots over the participants alive now), so
-- the worker that frees a slot does not take it back before the others had theirs.
local function take(k, n, holder, now, lease, scan)
    local out = {}
    -- Lease `member` (of `host`, at `depth`) to the holder, its start one politeness gap after the last.
    local function hand_out(member, host, depth)
        call("HINCRBY", k.crawl, mine(host, holder), 1)
        local start = reserve(k.crawl, host, now)
        call("ZADD", k.leases, start + lease, member)
        call("HSET", k.holders, member, holder .. "\\t" .. depth)
        out[#out + 1] = member
        out[#out + 1] = depth
        out[#out + 1] = start - now
    end
    call("ZADD", k.participants, now + lease, holder)
    if n <= 0 then return out end
    for _, member in ipairs(call("ZRANGEBYSCORE", k.leases, "-inf", now, "LIMIT", 0, n)) do
        -- A dead holder's page: its host slot passes to the new holder as it is.
        local held = call("HGET", k.holders, member) or ""
        local host = host_of(member)
        call("HINCRBY", k.crawl, mine(host, string.match(held, "^(.*)\\t") or ""), -1)
        hand_out(member, host, string.match(held, "\\t(%d+)$") or "0")
    end
    local room = tonumber(call("HGET", k.crawl, "limit")) - (tonumber(call("HGET", k.crawl, "pages")) or 0)
        - call("ZCARD", k.leases)
    if room <= 0 or #out >= 3 * n then return out end
    local per_host = tonumber(call("HGET", k.crawl, "per_host"))
    local share = math.ceil(per_host / math.max(1, call("ZCOUNT", k.participants, now, "+inf")))
    local batch = call("HGET", k.crawl, "mode") == "batch"
    local full = {}
    local candidates = call("ZRANGE", k.frontier, 0, math.max(scan, 4 * n) - 1, "WITHSCORES")
    for i = 1, #candidates, 2 do
        if #out >= 3 * n or room <= 0 then break end
        local member, depth = candidates[i], candidates[i + 1]
        local host = host_of(member)
        if not full[host] then
            if (tonumber(call("HGET", k.crawl, "held " .. host)) or 0) >= per_host
                    or (tonumber(call("HGET", k.crawl, mine(host, holder))) or 0) >= share then
                full[host] = true
            else
                call("ZREM", k.frontier, member)
                local tag = string.sub(member, 1, (string.find(member, " ", 1, true) or 1) - 1)
                -- A crawl hands a page out once: it may have been reached meanwhile through a redirect.
                if batch or call("SADD", k.fetched, tag) == 1 then
                    call("HINCRBY", k.crawl, "held " .. host, 1)
                    hand_out(member, host, depth)
                    room = room - 1
                end
            end
        end
    end
    return out
end
-- Queue links (ARGV from `first`: tag, member, ...) at `depth`, each once, within the frontier's bounds.
local function queue_links(crawl, frontier, seen, depth, first)
    local max_queued = tonumber(call("HGET", crawl, "max_queued"))
    local max_seen = tonumber(call("HGET", crawl, "max_seen"))
    for i = first, #ARGV, 2 do
        if call("ZCARD", frontier) >= max_queued or call("SCARD", seen) >= max_seen then
            call("HINCRBY", crawl, "dropped", (#ARGV - i + 1) / 2)
            return
        end
        if call("SADD", seen, ARGV[i]) == 1 then call("ZADD", frontier, depth, ARGV[i + 1]) end
    end
end
-- Whether the crawl is over: nothing leased, and nothing queued or no room left under the limit.
local function over(k)
    if call("ZCARD", k.leases) > 0 then return false end
    return call("ZCARD", k.frontier) == 0
        or (tonumber(call("HGET", k.crawl, "pages")) or 0) >= tonumber(call("HGET", k.crawl, "limit"))
end
local function live(record)
    return call("EXISTS", record) == 1 and call("HEXISTS", record, sealed) == 0
end
"""

_OPEN = LuaScript(
    _TAKE_LUA
    + """
-- KEYS: record, crawl, frontier, leases, holders, seen, fetched, robots, parts, participants, pages
-- ARGV: fence field ("": none), fence, run, ttl s, mode, limit, max queued, max seen, per host, gap ms,
--       seed count, then per seed: tag, member, score; then placeholder entries (a batch's page list)
-- Returns {-1} sealed or gone, {-2} fence does not hold, {1, pages} resumed, {0, 0} opened.
if not live(KEYS[1]) then return {-1} end
if ARGV[1] ~= "" and call("HGET", KEYS[1], ARGV[1]) ~= ARGV[2] then return {-2} end
if call("HGET", KEYS[2], "run") == ARGV[3] then
    return {1, tonumber(call("HGET", KEYS[2], "pages")) or 0}
end
call("DEL", KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11])
call("HSET", KEYS[2], "run", ARGV[3], "mode", ARGV[5], "limit", ARGV[6], "max_queued", ARGV[7],
     "max_seen", ARGV[8], "per_host", ARGV[9], "gap", ARGV[10], "pages", 0)
local seeds = tonumber(ARGV[11])
local i = 12
for _ = 1, seeds do
    if ARGV[5] == "crawl" then call("SADD", KEYS[6], ARGV[i]) end
    call("ZADD", KEYS[3], ARGV[i + 2], ARGV[i + 1])
    i = i + 3
end
while i <= #ARGV do
    local last = math.min(#ARGV, i + 499)
    call("RPUSH", KEYS[11], unpack(ARGV, i, last))
    i = last + 1
end
for k = 2, 11 do call("EXPIRE", KEYS[k], ARGV[4]) end
return {0, 0}
"""
)

_TAKE = LuaScript(
    _TAKE_LUA
    + """
-- KEYS: record, crawl, frontier, leases, holders, fetched, participants
-- ARGV: holder, now ms, lease ms, how many, scan, fence field ("": none), fence
-- Returns {-1} sealed or gone, {-2} fence does not hold, {0} over, {1, earliest lease deadline} nothing now
-- (waited on), {2, 0, member, depth, wait ms, ...} taken.
if not live(KEYS[1]) then return {-1} end
if ARGV[6] ~= "" and call("HGET", KEYS[1], ARGV[6]) ~= ARGV[7] then return {-2} end
local k = {crawl = KEYS[2], frontier = KEYS[3], leases = KEYS[4], holders = KEYS[5], fetched = KEYS[6],
           participants = KEYS[7]}
local got = take(k, tonumber(ARGV[4]), ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[5]))
if #got > 0 then return {2, 0, unpack(got)} end
if over(k) then return {0} end
-- Nothing for this holder now: the next completion that queues more (or ends the crawl) wakes it. A holder
-- that got some is refilled by its own completions, each of which takes its next URLs.
call("HSET", KEYS[2], "waiting", 1)
local first = call("ZRANGE", KEYS[4], 0, 0, "WITHSCORES")
return {1, tonumber(first[2] or ARGV[2])}
"""
)

_COMPLETE = LuaScript(
    _TAKE_LUA
    + """
-- KEYS: record, events, pages, crawl, frontier, leases, holders, seen, fetched, participants
-- ARGV: [1] holder, [2] member, [3] fence field ("": none), [4] fence, [5] now ms, [6] maxlen, [7] ttl s,
--       [8] kind ("page" counted, "skip" listed but not counted), [9] entry, [10] page event data,
--       [11] error code ("": none), [12] tag of the page a redirect landed on ("": none),
--       [13] depth of its links, [14] how many to take next, [15] lease ms, [16] scan,
--       [17] wake channel, [18] wake message, then per link: tag, member
-- Returns {-1} sealed or gone, {-2} fence does not hold, {-3, ...} lease lost,
-- {1, pages, page event id, progress event id, progress data, over, member, depth, wait ms, ...}.
if not live(KEYS[1]) then return {-1} end
if ARGV[3] ~= "" and call("HGET", KEYS[1], ARGV[3]) ~= ARGV[4] then return {-2} end
local holder, member, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local k = {crawl = KEYS[4], frontier = KEYS[5], leases = KEYS[6], holders = KEYS[7], fetched = KEYS[9],
           participants = KEYS[10]}
local held = call("HGET", KEYS[7], member)
if not held or string.sub(held, 1, #holder + 1) ~= holder .. "\\t" then
    return {-3}
end
local depth = tonumber(string.match(held, "\\t(%d+)$") or "0")
call("ZREM", KEYS[6], member)
call("HDEL", KEYS[7], member)
call("HINCRBY", KEYS[4], "held " .. host_of(member), -1)
call("HINCRBY", KEYS[4], mine(host_of(member), holder), -1)
local kind = ARGV[8]
if ARGV[12] ~= "" then
    if call("SADD", KEYS[9], ARGV[12]) == 0 then kind = "duplicate" else call("SADD", KEYS[8], ARGV[12]) end
end
local pages = tonumber(call("HGET", KEYS[4], "pages")) or 0
local page_id, progress_id, progress = "", "", ""
if kind ~= "duplicate" then
    local ttl = ARGV[7]
    if kind == "page" then
        pages = call("HINCRBY", KEYS[4], "pages", 1)
        local code = ARGV[11]
        if code ~= "" then
            call("HINCRBY", KEYS[4], "failed", 1)
            call("HINCRBY", KEYS[4], "error " .. code, 1)
        end
    else
        call("HINCRBY", KEYS[4], "skipped", 1)
    end
    if call("HGET", KEYS[4], "mode") == "batch" then
        call("LSET", KEYS[3], depth, ARGV[9])
    else
        call("RPUSH", KEYS[3], ARGV[9])
    end
    call("EXPIRE", KEYS[3], ttl)
    page_id = call("XADD", KEYS[2], "MAXLEN", "~", ARGV[6], "*", "type", "page", "data", ARGV[10])
    call("HSET", KEYS[1], "pages", pages)
    local limit = tonumber(call("HGET", KEYS[4], "limit"))
    local percent = math.min(99, math.floor(100 * pages / limit))
    if kind == "page" and percent > (tonumber(call("HGET", KEYS[1], "percent")) or 0) then
        local what = call("HGET", KEYS[4], "mode") == "batch" and "%d of %d" or "%d of at most %d pages"
        progress = cjson.encode({phase = "fetch", percent = percent, message = string.format(what, pages, limit),
                                 ts = now})
        progress_id = call("XADD", KEYS[2], "MAXLEN", "~", ARGV[6], "*", "type", "progress", "data", progress)
        call("HSET", KEYS[1], "percent", percent, "phase", "fetch")
    end
    call("EXPIRE", KEYS[1], ttl)
    call("EXPIRE", KEYS[2], ttl)
end
if kind == "page" then queue_links(KEYS[4], KEYS[5], KEYS[8], ARGV[13], 19) end
local got = take(k, tonumber(ARGV[14]), holder, now, tonumber(ARGV[15]), tonumber(ARGV[16]))
local ended = over(k)
if call("HGET", KEYS[4], "waiting") and (ended or call("ZCARD", KEYS[5]) > 0) then
    call("HDEL", KEYS[4], "waiting")
    call("PUBLISH", ARGV[17], ARGV[18])
end
return {1, pages, page_id, progress_id, progress, ended and 1 or 0, unpack(got)}
"""
)

_SEED = LuaScript(
    _TAKE_LUA
    + """
-- KEYS: record, crawl, frontier, seen
-- ARGV: depth, then per URL: tag, member
if not live(KEYS[1]) then return {-1} end
queue_links(KEYS[2], KEYS[3], KEYS[4], ARGV[1], 2)
return {0}
"""
)

_RENEW = LuaScript(
    """
-- KEYS: leases, holders, participants
-- ARGV: holder, deadline ms, then the members it holds
-- Pushes the lease deadline of each member the holder still holds (never pulls one in), and its own.
local holder = ARGV[1]
redis.call("ZADD", KEYS[3], ARGV[2], holder)
local mine = holder .. "\\t"
for i = 3, #ARGV do
    local held = redis.call("HGET", KEYS[2], ARGV[i])
    if held and string.sub(held, 1, #mine) == mine then
        local deadline = tonumber(redis.call("ZSCORE", KEYS[1], ARGV[i]) or 0)
        if deadline < tonumber(ARGV[2]) then redis.call("ZADD", KEYS[1], "XX", ARGV[2], ARGV[i]) end
    end
end
return 0
"""
)


class CrawlEnded(Exception):
    """The job is sealed (completed, failed, cancelled) or gone: nothing more is written for it."""


class CrawlSuperseded(Exception):
    """A fenced write was refused: a newer attempt of the job holds it."""


@dataclass(frozen=True, slots=True)
class Leased:
    """A URL handed to a holder: its frontier member, depth (a batch: position), and when it may start."""

    member: str
    depth: int
    wait_s: float

    @property
    def url(self) -> str:
        return self.member.split(" ", 1)[1]


@dataclass(frozen=True, slots=True)
class Taken:
    """What `take` found: URLs, or why none (`over`: the crawl is done; else wait until `retry_at_ms`)."""

    leased: list[Leased]
    over: bool = False
    retry_at_ms: int = 0


@dataclass(frozen=True, slots=True)
class Completed:
    """What `complete` did: the page count now, the events it appended (for webhooks), the next URLs."""

    lost: bool  # the lease was no longer the holder's: nothing was written
    pages: int = 0
    page_event_id: str = ""
    progress_event_id: str = ""
    progress_data: bytes = b""
    over: bool = False
    next: tuple[Leased, ...] = ()


@dataclass(frozen=True, slots=True)
class Seed:
    tag: str
    url: str
    score: int

    @property
    def member(self) -> str:
        return f"{self.tag} {self.url}"


@dataclass(frozen=True, slots=True)
class CrawlBounds:
    mode: str  # "crawl" or "batch"
    limit: int
    max_queued: int
    max_seen: int
    per_host: int
    gap_ms: int


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _leased(flat: Sequence[Any]) -> list[Leased]:
    return [Leased(_text(flat[i]), int(_text(flat[i + 1])), max(0, int(flat[i + 2])) / 1000)
            for i in range(0, len(flat) - 2, 3)]


@dataclass(frozen=True, slots=True)
class CrawlState:
    """The shared state of one crawl or batch, and the scripts that change it."""

    keys: Keyspace
    job_id: str

    def _all(self) -> list[str]:
        k, j = self.keys, self.job_id
        return [k.crawl(j), k.crawl_frontier(j), k.crawl_leases(j), k.crawl_holders(j), k.crawl_seen(j),
                k.crawl_fetched(j), k.crawl_robots(j), k.crawl_parts(j), k.crawl_participants(j)]

    async def open(self, redis: Any, *, run: str, fence: tuple[str, int] | None, ttl_s: int, bounds: CrawlBounds,
                   seeds: Sequence[Seed], placeholders: Sequence[bytes] = ()) -> int | None:
        """Open the run's state; the pages done so far if it was there already (a resume), None if new."""
        args: list[Any] = [*(fence or ("", 0)), run, ttl_s, bounds.mode, bounds.limit, bounds.max_queued,
                           bounds.max_seen, bounds.per_host, bounds.gap_ms, len(seeds)]
        for seed in seeds:
            args += [seed.tag, seed.member, seed.score]
        args += placeholders
        reply = await _OPEN(redis, [self.keys.record(self.job_id), *self._all(), self.keys.pages(self.job_id)], args)
        self._raise_for(reply[0])
        return int(reply[1]) if reply[0] == 1 else None

    async def seed(self, redis: Any, seeds: Sequence[Seed]) -> None:
        """Queue more start pages (a sitemap's) at the depth of the first, each once, within the bounds."""
        if seeds:
            k, j = self.keys, self.job_id
            args: list[Any] = [seeds[0].score]
            for seed in seeds:
                args += [seed.tag, seed.member]
            self._raise_for((await _SEED(redis, [k.record(j), k.crawl(j), k.crawl_frontier(j), k.crawl_seen(j)],
                                         args))[0])

    async def take(self, redis: Any, *, holder: str, fence: tuple[str, int] | None, now_ms: int, lease_ms: int,
                   count: int) -> Taken:
        k, j = self.keys, self.job_id
        reply = await _TAKE(redis, [k.record(j), k.crawl(j), k.crawl_frontier(j), k.crawl_leases(j),
                                    k.crawl_holders(j), k.crawl_fetched(j), k.crawl_participants(j)],
                            [holder, now_ms, lease_ms, count, TAKE_SCAN, *(fence or ("", 0))])
        self._raise_for(reply[0])
        if reply[0] == 0:
            return Taken([], over=True)
        if reply[0] == 1:
            return Taken([], retry_at_ms=int(reply[1]))
        return Taken(_leased(reply[2:]))

    async def complete(
        self, redis: Any, *, holder: str, member: str, fence: tuple[str, int] | None, now_ms: int, maxlen: int,
        ttl_s: int, counted: bool, entry: bytes, event_data: bytes, error_code: str | None, landed_tag: str | None,
        link_depth: int, links: Sequence[tuple[str, str]], take: int, lease_ms: int, wake: tuple[str, str],
    ) -> Completed:
        """End a leased page (see the module docstring); `links`: (tag, member) of its new in-scope links."""
        k, j = self.keys, self.job_id
        args: list[Any] = [holder, member, *(fence or ("", 0)), now_ms, maxlen, ttl_s, "page" if counted else "skip",
                           entry, event_data, error_code or "", landed_tag or "", link_depth, take, lease_ms,
                           TAKE_SCAN, *wake]
        for tag, link in links:
            args += [tag, link]
        reply = await _COMPLETE(redis, [k.record(j), k.events(j), k.pages(j), k.crawl(j), k.crawl_frontier(j),
                                        k.crawl_leases(j), k.crawl_holders(j), k.crawl_seen(j), k.crawl_fetched(j),
                                        k.crawl_participants(j)],
                                args)
        if reply[0] == -3:
            return Completed(lost=True)
        self._raise_for(reply[0])
        progress = reply[4]
        return Completed(False, int(reply[1]), _text(reply[2]), _text(reply[3]),
                         progress if isinstance(progress, bytes) else str(progress).encode(), bool(reply[5]),
                         tuple(_leased(reply[6:])))

    async def renew(self, redis: Any, *, holder: str, members: Sequence[str], deadline_ms: int) -> None:
        k, j = self.keys, self.job_id
        await _RENEW(redis, [k.crawl_leases(j), k.crawl_holders(j), k.crawl_participants(j)],
                     [holder, deadline_ms, *members])

    async def leave(self, redis: Any, holder: str) -> None:
        """The holder takes no more part: the host slots are shared out among the others at once."""
        await redis.zrem(self.keys.crawl_participants(self.job_id), holder)

    async def counters(self, redis: Any) -> dict[str, int]:
        """pages, failed, skipped, dropped and "error <code>" counts, as the crawl hash holds them now."""
        raw: dict[bytes, bytes] = await redis.hgetall(self.keys.crawl(self.job_id))
        wanted = ("pages", "failed", "skipped", "dropped")
        return {name: int(value) for key, value in raw.items()
                if (name := key.decode()) in wanted or name.startswith("error ")}

    def working_keys(self) -> list[str]:
        """The keys a finished crawl no longer needs (the frontier and sets): dropped with its terminal event."""
        k, j = self.keys, self.job_id
        return [k.crawl_frontier(j), k.crawl_leases(j), k.crawl_holders(j), k.crawl_seen(j), k.crawl_fetched(j),
                k.crawl_participants(j)]

    @staticmethod
    def _raise_for(code: Any) -> None:
        if code == -1:
            raise CrawlEnded("the job has ended")
        if code == -2:
            raise CrawlSuperseded("a newer attempt holds the job")
