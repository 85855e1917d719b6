"""Every Redis key comes from `Keyspace`, and every Lua script receives the keys it touches through KEYS.

A Redis Cluster routes a script by its KEYS: a key a script builds for
itself (by concatenation, or from ARGV) may live on another shard, and
Cluster refuses it. The test runs every script of the code base through the
code paths that call it, watches what each one does with MONITOR, asks
Redis (`COMMAND GETKEYS`) which arguments of each command are keys, and
checks each of them was passed in KEYS.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import pkgutil
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from arq.connections import RedisSettings, create_pool
from arq.worker import Worker, func
from redis.asyncio import Redis
from redis.asyncio.client import Monitor
from redis.exceptions import ResponseError

from jobs.lifecycle.bulk import delete_finished_job
from jobs.lifecycle.cancel import cancel_job
from jobs.lifecycle.idempotency import claim_key
from jobs.lifecycle.rerun import rerun_job
from jobs.lifecycle.submit import QueueConfig, submit_job
from jobs.models import ScrapeRequest
from jobs.queue.claim import FENCE_FIELD, RunningCap, claim_jobs
from jobs.queue.scores import promote_due
from jobs.schedules.store import change_schedule, create_schedule, delete_schedule
from jobs.schedules.ticker import fire_due
from jobs.schedules.timing import Cadence
from jobs.store.crawl_state import CrawlBounds, CrawlState, Seed
from jobs.store.pages import push_commands
from jobs.worker.leases import finish_held_job, renew_leases
from service.ratelimit import submission_wait_s
from streams.events import now_ms
from streams.keys import Keyspace
from streams.lua import LuaScript
from streams.publish import Fence, PendingEvent, StreamLimits, ThenCommand, append_events, queue_append_events

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGES = ("streams", "jobs", "service")

# One argument of a MONITOR line: "..." with C-style escapes (sdscatrepr).
_ARGUMENT = re.compile(rb'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)")
_ESCAPED = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(text: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        if code.startswith(b"x") and len(code) == 3:
            return bytes([int(code[1:], 16)])
        return _ESCAPED.get(code, code)

    return _ESCAPE.sub(one, text)


@dataclass(frozen=True, slots=True)
class Logged:
    """One command as MONITOR shows it: who ran it ("lua" inside a script) and its arguments."""

    origin: bytes
    args: list[bytes]


def parse_monitor_line(line: bytes) -> Logged:
    header, _, rest = line.partition(b"] ")
    origin = header.partition(b"[")[2].split(b" ", 1)[-1]
    return Logged(origin, [_unescape(arg) for arg in _ARGUMENT.findall(rest)])


@dataclass(slots=True)
class Step:
    """What one code path did: the scripts it called (sha, KEYS) and the commands they ran."""

    name: str
    scripts: list[tuple[str, list[bytes]]] = field(default_factory=list)
    script_commands: list[list[bytes]] = field(default_factory=list)


class ScriptWatch:
    """Runs code paths one at a time under MONITOR and sorts what each one sent."""

    def __init__(self, redis: Redis, monitor: Monitor) -> None:
        assert monitor.connection is not None, "MONITOR is on (inside `async with client.monitor()`)"
        self.redis = redis
        # Read raw: redis-py's own parsing of MONITOR lines joins the arguments with spaces.
        self.connection = monitor.connection
        self.steps: list[Step] = []

    async def run(self, name: str, action: Callable[[], Awaitable[Any]]) -> Any:
        result = await action()
        # Everything the step sent comes before this marker: the step is complete once it shows.
        marker = f"end of {name}".encode()
        await self.redis.echo(marker)
        step = Step(name)
        while True:
            response = await self.connection.read_response()
            logged = parse_monitor_line(response if isinstance(response, bytes) else str(response).encode())
            if logged.args[:2] == [b"ECHO", marker]:
                break
            command = logged.args[0].upper() if logged.args else b""
            if logged.origin == b"lua":
                step.script_commands.append(logged.args)
            elif command in (b"EVAL", b"EVALSHA"):
                body, numkeys = logged.args[1], int(logged.args[2])
                sha = hashlib.sha1(body).hexdigest() if command == b"EVAL" else body.decode()
                step.scripts.append((sha, logged.args[3:3 + numkeys]))
        self.steps.append(step)
        return result


def every_lua_script() -> dict[str, tuple[str, LuaScript]]:
    """sha → (where it is defined, the script), for every `LuaScript` in the service's packages."""
    found: dict[str, tuple[str, LuaScript]] = {}
    for package in PACKAGES:
        for info in pkgutil.walk_packages(importlib.import_module(package).__path__, f"{package}."):
            for name, value in vars(importlib.import_module(info.name)).items():
                if isinstance(value, LuaScript):
                    found[value.sha] = (f"{info.name}.{name}", value)
    return found


async def keys_of(redis: Redis, command: list[bytes]) -> list[bytes]:
    """The arguments of `command` that are keys, as Redis itself reads the command."""
    try:
        found = await redis.command_getkeys(*command)
    except ResponseError as exc:
        if "no key arguments" in str(exc):
            return []  # PUBLISH names a channel, not a key
        raise
    return [key if isinstance(key, bytes) else str(key).encode() for key in found]


async def exercise_every_script(watch: ScriptWatch, redis: Redis) -> None:
    """Each script of the code base, called the way the service calls it."""
    keys = Keyspace("t")
    limits = StreamLimits(maxlen=100, ttl_s=600)
    config = QueueConfig(keys=keys, limits=limits, priority_step_ms=60_000)
    page = "https://example.com/"

    now_job = await watch.run("submit", lambda: submit_job(
        redis, config, ScrapeRequest(url=page), owner="owner-a"))
    later_job = await watch.run("submit scheduled", lambda: submit_job(
        redis, config, ScrapeRequest(url=page, delay_s=60), owner="owner-a"))
    moved, _next = await watch.run("promote", lambda: promote_due(
        redis, keys, now_ms=now_ms() + 3_600_000, step_ms=60_000))
    assert moved == 1
    cap = RunningCap(keys, per_owner=5, stale_after_ms=60_000)
    claimed = await watch.run("claim", lambda: claim_jobs(
        redis, queue=keys.kind_queue("scrape"), free=2, now_ms=now_ms() + 7_200_000, lease_ms=60_000,
        holder="worker-1", cap=cap))
    assert {job.job_id for job in claimed} == {now_job.id, later_job.id}

    # What a worker's attempt writes: progress in a pipeline, then the terminal event with its result.
    async def progress() -> None:
        async with redis.pipeline(transaction=True) as pipe:
            queue_append_events(pipe, keys.events(now_job.id), keys.record(now_job.id),
                                [PendingEvent.make("progress", {"percent": 50}, {"percent": 50})], limits=limits)
            await pipe.execute()

    await watch.run("append in a pipeline", progress)
    await watch.run("complete", lambda: append_events(
        redis, keys.events(now_job.id), keys.record(now_job.id),
        [PendingEvent.make("completed", {"summary": {}}, {"status": "completed"})],
        attach=[(keys.result(now_job.id), b"{}")], then=[ThenCommand("HINCRBY", keys.stats(), ("completed", 1))],
        limits=limits))
    # What an attempt writes under its claim's fence: a page with its entry, its lease, its running slot.
    fence = claimed[0].fence if claimed[0].job_id == later_job.id else claimed[1].fence
    await watch.run("fenced page", lambda: append_events(
        redis, keys.events(later_job.id), keys.record(later_job.id), [PendingEvent.make("page", {"url": page})],
        then=push_commands(keys, later_job.id, b"{}", 600), fence=Fence(FENCE_FIELD, fence), limits=limits))
    await watch.run("renew leases", lambda: renew_leases(redis, keys, "worker-1", {later_job.id: fence}, 60))
    await watch.run("release running slot", lambda: cap.release(redis, "owner-a", later_job.id, fence=fence))
    await watch.run("finish held job", lambda: finish_held_job(
        redis, keys, later_job.id, keys.kind_queue("scrape"), holder="worker-1", fence=fence, finish=False,
        incr_score=None, keep_in_progress=None))
    await watch.run("cancel", lambda: cancel_job(redis, config, later_job.id, by="test"))
    await watch.run("rerun", lambda: rerun_job(redis, config, later_job.id, by="test"))
    await watch.run("idempotency key", lambda: claim_key(
        redis, keys.idempotency("owner-a", "k-1"), "hash", now_job.id, 600))
    await watch.run("rate limit", lambda: submission_wait_s(
        redis, keys.submit_rate("owner-a"), per_minute=60, burst=2))
    await watch.run("delete finished job", lambda: delete_finished_job(redis, keys, "owner-a", now_job.id))
    # A schedule: made, its due run submitted and the schedule advanced, changed, deleted.
    schedule = await watch.run("create schedule", lambda: create_schedule(
        redis, keys, owner="owner-a", cadence=Cadence(every_s=60), job={"type": "scrape", "url": page}, cap=5))
    await watch.run("fire due schedule", lambda: fire_due(redis, config, now_ms()))
    await watch.run("change schedule", lambda: change_schedule(redis, keys, schedule, paused=True, cadence=None))
    await watch.run("delete schedule", lambda: delete_schedule(redis, keys, schedule))

    # A crawl's shared state: opened, seeded, a page taken, its lease renewed, the page completed.
    crawl_job = await watch.run("submit a job to crawl", lambda: submit_job(
        redis, config, ScrapeRequest(url=page), owner="owner-a"))
    state = CrawlState(keys, crawl_job.id)
    await watch.run("open a crawl", lambda: state.open(
        redis, run="run-1", fence=None, ttl_s=600, bounds=CrawlBounds("crawl", 10, 100, 210, 2, 0),
        seeds=[Seed("aa", page, 0)]))
    await watch.run("seed a crawl", lambda: state.seed(redis, [Seed("bb", f"{page}b", 1)]))
    taken = await watch.run("take a page", lambda: state.take(
        redis, holder="worker-1", fence=None, now_ms=now_ms(), lease_ms=60_000, count=1))
    member = taken.leased[0].member
    await watch.run("renew page leases", lambda: state.renew(
        redis, holder="worker-1", members=[member], deadline_ms=now_ms() + 60_000))
    await watch.run("complete a page", lambda: state.complete(
        redis, holder="worker-1", member=member, fence=None, now_ms=now_ms(), maxlen=100, ttl_s=600, counted=True,
        entry=b"{}", event_data=b"{}", error_code=None, landed_tag="dd", link_depth=1,
        links=[("cc", f"cc {page}c")], take=1, lease_ms=60_000, wake=(keys.wake_channel(), "crawl x")))


async def test_every_lua_script_gets_the_keys_it_touches_through_KEYS(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        async with Redis.from_url(redis_url).monitor() as monitor:
            watch = ScriptWatch(redis, monitor)
            await exercise_every_script(watch, redis)

        built_in_lua: list[str] = []
        for step in watch.steps:
            assert step.scripts, f"{step.name}: no script ran"
            assert step.script_commands, f"{step.name}: its script ran no command (is MONITOR read right?)"
            declared = {key for _sha, script_keys in step.scripts for key in script_keys}
            for command in step.script_commands:
                for key in await keys_of(redis, command):
                    if key not in declared:
                        built_in_lua.append(f"{step.name}: {command[0].decode()} {key.decode()!r}")
        assert built_in_lua == [], "keys a script touched without receiving them in KEYS"

        ran = {sha for step in watch.steps for sha, _keys in step.scripts}
        missing = {where for sha, (where, _script) in every_lua_script().items() if sha not in ran}
        assert missing == set(), "scripts this test does not run: add them to exercise_every_script"
    finally:
        await redis.aclose()


def test_no_lua_outside_a_lua_script() -> None:
    """Lua handed to EVAL by hand would escape the check above: all of it lives in `LuaScript`s."""
    in_scripts = sum(script.source.count("redis.call(") for _where, script in every_lua_script().values())
    in_files = sum(path.read_text().count("redis.call(")
                   for package in (*PACKAGES, "bench") for path in (ROOT / package).rglob("*.py"))
    assert in_scripts > 0
    assert in_files == in_scripts


# A Lua string concatenated (`..`) with a key-like literal ("ss:job:{") or with ARGV / KEYS.
_BUILT_KEY = re.compile(r"""(["'][^"'\n]*[:{}][^"'\n]*["']|ARGV\[[^]]*]|KEYS\[[^]]*])\s*\.\.(?!\.)"""
                        r"""|(?<!\.)\.\.\s*(["'][^"'\n]*[:{}][^"'\n]*["']|ARGV\[|KEYS\[)""")


def test_no_script_builds_a_key_name() -> None:
    """A key built inside Lua, even one also passed in KEYS, is the next one a Cluster will refuse."""
    built = []
    for where, script in every_lua_script().values():
        code = "\n".join(line.split("--", 1)[0] for line in script.source.splitlines())
        built += [f"{where}: {match.group(0)}" for match in _BUILT_KEY.finditer(code)]
    assert built == []


# README's placeholder for each argument of a Keyspace method.
PLACEHOLDERS = {"job_id": "<id>", "arq_id": "<id>", "key_id": "<id>", "owner": "<owner>", "key": "<key>",
                "identity": "<hash>", "hub_id": "<uuid>", "kind": "<kind>",
                "minute": "<minute>", "url_digest": "<url hash>", "schedule_id": "<schedule id>"}


def keyspace_templates() -> set[str]:
    keys = Keyspace()
    templates = set()
    for name, method in inspect.getmembers(keys, inspect.ismethod):
        if name.startswith("_"):
            continue
        parameters = inspect.signature(method).parameters
        templates.add(method(*(PLACEHOLDERS[parameter] for parameter in parameters)))
    return templates


def readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text.split("## Redis keys", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {key for row in rows for key in re.findall(r"`([^`]+)`", row.split("|")[1])}


def test_the_readme_key_table_lists_exactly_the_keys_keyspace_builds() -> None:
    assert readme_keys() == keyspace_templates()


async def test_keyspace_names_the_keys_arq_itself_uses(redis_url: str) -> None:
    """Our scripts write arq's in-progress keys and queue entries: they must be the ones arq reads."""
    keys = Keyspace("t")
    seen: dict[str, Any] = {}

    async def peek(ctx: dict[str, Any]) -> None:
        redis, job_id = ctx["redis"], ctx["job_id"]
        seen.update(job=await redis.exists(keys.arq_job(job_id)), retry=await redis.get(keys.arq_retry(job_id)),
                    in_progress=await redis.exists(keys.arq_in_progress(job_id)))

    pool = await create_pool(RedisSettings.from_dsn(redis_url))
    worker = Worker(functions=[func(peek, name="peek")], redis_pool=pool, burst=True, poll_delay=0.01,
                    handle_signals=False)
    try:
        await pool.enqueue_job("peek", _job_id="arq-1")
        assert await pool.zscore(keys.arq_queue(), "arq-1") is not None
        await worker.main()
    finally:
        # Not `worker.close()`: arq's calls redis-py's deprecated `close`.
        await pool.aclose(close_connection_pool=True)
    assert seen == {"job": 1, "retry": b"1", "in_progress": 1}
