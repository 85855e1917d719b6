"""Publishing: one atomic step that appends events and updates the job state.

`append_events` runs one Lua script: XADD of each event (capped with
MAXLEN ~), HSET of their state fields, EXPIRE of the keys, all in one round
trip. A terminal event seals the stream: the script records its id in the
state hash and refuses every later append, so the terminal event is always the
last entry and the state and the stream never disagree, whoever (worker or
API) gets there first.

A writer that holds a claim (a worker's attempt) passes its `Fence`: the
script then also refuses, and writes nothing at all, unless the state hash
still holds that claim's number. An attempt whose lease lapsed while it was
stalled (and whose job a newer attempt took over) can no longer write an
event, a page, a result or a counter, whatever it was doing when it stalled:
whatever must not outlive the claim rides in the same script as `then`
commands or attachments.

A writer that knows the job's owner passes its `ActivityFeed`: the script then
echoes each lifecycle event (queued, started, retrying and the terminal ones)
to the owner's activity stream, with the job's public record as it stands
right after that event's state change, read from the state hash in the script
(and a `changed` event, with what changed).
One round trip still; the dashboard follows every job of an owner from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .events import TERMINAL_TYPES, EventType, encode_data
from .lua import LuaScript

# The state-hash field holding the id of the terminal event once there is one.
SEALED_FIELD = "terminal_event_id"
# Both scripts name the field through this line, so the Python constant is the only spelling.
_SEALED_LUA = f'local sealed = "{SEALED_FIELD}"\n'

# What the append script answers when the fence does not hold (a list of ids, or nil, otherwise).
_SUPERSEDED = 0

# Events echoed to the owner's activity stream (not progress or page steps): the lifecycle, and a
# tracked page that changed (its record then carries `change`: what changed, without the diff).
LIFECYCLE_TYPES = frozenset({EventType.QUEUED, EventType.STARTED, EventType.RETRYING, *TERMINAL_TYPES})
ECHOED_TYPES = LIFECYCLE_TYPES | {EventType.CHANGED}

# `echo(activity key, maxlen, ttl_s, state hash, event id, type, event data)`: XADD the job's public
# record, as the state hash holds it now, to the owner's activity stream. `asked` is the record's JSON
# of what was asked (jobs.store.records.ASKED_FIELD); its options stay out of the stream. `schedule`
# names the schedule a run belongs to (jobs.store.records.SCHEDULE_FIELD).
# This text is part of two scripts (append and reopen) but written once here: it calls Redis through
# `call`, so that tests/streams/test_keyspace.py's count of Redis calls per script and per file agrees.
_ECHO_LUA = """
local call = redis.call
local function echo(activity, maxlen, ttl, state, event_id, event_type, event_data)
    local f = call("HMGET", state, "id", "type", "status", "phase", "percent", "attempt",
                         "created_at", "started_at", "finished_at", "error", "asked", "schedule")
    local null = cjson.null
    local asked = f[11] and cjson.decode(f[11]) or {}
    local ok, event = pcall(cjson.decode, event_data)
    local record = {
        id = f[1] or null, type = f[2] or null, status = f[3] or null, phase = f[4] or null,
        percent = tonumber(f[5] or 0), attempt = tonumber(f[6] or 0),
        created_at = f[7] or null, started_at = f[8] or null, finished_at = f[9] or null,
        error = f[10] and cjson.decode(f[10]) or null,
        url = asked.url or null, urls_count = asked.urls_count or null, urls = asked.urls or null,
        job = asked.job or null, questions = asked.questions or null, schedule = f[12] or null,
        event_id = event_id, ts = ok and type(event) == "table" and event.ts or null,
    }
    if event_type == "changed" and ok and type(event) == "table" and type(event.change) == "table" then
        -- What changed, without the diff: the activity stream stays small, the result has the diff.
        record.change = {url = event.url, status = event.change.status,
                         previous_job = event.change.previous_job, fields = event.change.fields}
    end
    call("XADD", activity, "MAXLEN", "~", maxlen, "*", "type", event_type, "data", cjson.encode(record))
    call("EXPIRE", activity, ttl)
end
"""

_APPEND = LuaScript(
    _SEALED_LUA
    + _ECHO_LUA
    + """
-- KEYS: stream, state hash, attachment key ..., then-command key ..., activity stream (if echoed)
-- ARGV: maxlen, ttl_s, mode ("create" | "update" | "commands"), fence field ("": no fence), fence value,
--       event count, attachment count, then-command count, activity ttl_s (0: no echo),
--       attachment value (one per key) ...,
--       then per then-command: name, KEYS index or 0, argument count, argument ...,
--       then per event: type, data, kind ("1" terminal, "L" other lifecycle, "0"), field count, field, value, ...
-- Returns the ids appended; nil if the state hash is sealed or gone ("create": if it exists);
-- 0 if the fence does not hold. Nothing is written unless ids are returned.
-- "commands" runs only the then-commands, under the fence alone (sealed or not).
-- Then-commands travel in ARGV as they are: a page entry or a job payload is never re-encoded.
local mode = ARGV[3]
if mode == "create" then
    if redis.call("EXISTS", KEYS[2]) == 1 then return false end
elseif mode == "update" and (redis.call("EXISTS", KEYS[2]) == 0 or redis.call("HEXISTS", KEYS[2], sealed) == 1) then
    return false
end
if ARGV[4] ~= "" and redis.call("HGET", KEYS[2], ARGV[4]) ~= ARGV[5] then return 0 end
local nattach = tonumber(ARGV[7])
local activity_ttl = tonumber(ARGV[9])
local commands, i = {}, 10 + nattach
for _ = 1, tonumber(ARGV[8]) do
    commands[#commands + 1] = i
    i = i + 3 + tonumber(ARGV[i + 2])
end
local ids = {}
for _ = 1, tonumber(ARGV[6]) do
    local nfields = tonumber(ARGV[i + 3])
    local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "type", ARGV[i], "data", ARGV[i + 1])
    if nfields > 0 then redis.call("HSET", KEYS[2], unpack(ARGV, i + 4, i + 3 + 2 * nfields)) end
    ids[#ids + 1] = id
    if activity_ttl > 0 and ARGV[i + 2] ~= "0" then
        echo(KEYS[#KEYS], ARGV[1], activity_ttl, KEYS[2], id, ARGV[i], ARGV[i + 1])
    end
    if ARGV[i + 2] == "1" then
        redis.call("HSET", KEYS[2], sealed, id)
        break
    end
    i = i + 4 + 2 * nfields
end
for k = 1, nattach do redis.call("SET", KEYS[2 + k], ARGV[9 + k], "EX", ARGV[2]) end
if mode ~= "commands" then
    redis.call("EXPIRE", KEYS[1], ARGV[2])
    redis.call("EXPIRE", KEYS[2], ARGV[2])
end
for _, at in ipairs(commands) do
    local key, last = tonumber(ARGV[at + 1]), at + 2 + tonumber(ARGV[at + 2])
    if key > 0 then
        redis.call(ARGV[at], KEYS[key], unpack(ARGV, at + 3, last))
    else
        redis.call(ARGV[at], unpack(ARGV, at + 3, last))
    end
end
return ids
"""
)

StateFields = Mapping[str, str | int | float | bytes]
ThenArgument = str | int | float | bytes


class Superseded(Exception):
    """A fenced write was refused: the state hash holds a newer claim than the writer's."""


@dataclass(frozen=True, slots=True)
class StreamLimits:
    maxlen: int = 10_000
    ttl_s: int = 86_400


@dataclass(frozen=True, slots=True)
class Fence:
    """A writer's claim: its writes happen only while the state hash's `field` still holds `value`."""

    field: str
    value: int


@dataclass(frozen=True, slots=True)
class ActivityFeed:
    """The owner's activity stream a job's lifecycle events are echoed to (`Keyspace.owner_activity`).

    Capped at the job streams' MAXLEN; `ttl_s` is the owner's job index's lifetime.
    """

    key: str
    ttl_s: int


def _event_kind(event_type: str) -> str:
    if event_type in TERMINAL_TYPES:
        return "1"
    return "L" if event_type in ECHOED_TYPES else "0"


@dataclass(frozen=True, slots=True)
class ThenCommand:
    """A Redis command a script runs after its own writes, only if they happen.

    Its key is kept apart from its arguments so that the script receives it
    through KEYS (as a Redis Cluster needs); `key` is None for a command that
    names no key (PUBLISH names a channel).
    """

    name: str
    key: str | None
    args: tuple[ThenArgument, ...] = ()

    def parts(self) -> tuple[ThenArgument, ...]:
        """The whole command, for a pipeline's `execute_command`."""
        return (self.name, *(() if self.key is None else (self.key,)), *self.args)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event to publish: its type, its data (stamped with `ts` now) and state changes."""

    type: str
    data: bytes
    state: StateFields = field(default_factory=dict)

    @classmethod
    def make(cls, event_type: str, data: Mapping[str, Any], state: StateFields | None = None) -> PendingEvent:
        return cls(event_type, encode_data(dict(data)), state or {})


def _fence_args(fence: Fence | None) -> list[Any]:
    return ["", 0] if fence is None else [fence.field, fence.value]


def _then_args(then: Sequence[ThenCommand], keys_before: int) -> tuple[list[str], list[Any]]:
    """(the commands' keys, their ARGV part): each key lands in KEYS after the `keys_before` others."""
    then_keys: list[str] = []
    args: list[Any] = []
    for command in then:
        index = 0
        if command.key is not None:
            then_keys.append(command.key)
            index = keys_before + len(then_keys)
        args.extend((command.name, index, len(command.args), *command.args))
    return then_keys, args


def _args(
    events: Sequence[PendingEvent], limits: StreamLimits, mode: str, attachments: Sequence[bytes] = (),
    then: Sequence[ThenCommand] = (), fence: Fence | None = None, activity: ActivityFeed | None = None,
) -> tuple[list[str], list[Any]]:
    """(the keys after the stream, state and attachments: then-commands', then the activity stream; ARGV)."""
    then_keys, then_args = _then_args(then, 2 + len(attachments))
    if activity is not None:
        then_keys.append(activity.key)
    args: list[Any] = [limits.maxlen, limits.ttl_s, mode, *_fence_args(fence), len(events), len(attachments),
                       len(then), 0 if activity is None else max(1, activity.ttl_s), *attachments, *then_args]
    for event in events:
        args.extend((event.type, event.data, _event_kind(event.type), len(event.state)))
        for name, value in event.state.items():
            args.extend((name, value))
    return then_keys, args


def _ids(reply: Any) -> list[str] | None:
    """The append script's reply as ids; None if refused; Superseded if its fence did not hold."""
    if reply == _SUPERSEDED:
        raise Superseded("a newer claim holds the job")
    if not reply:
        return None
    return [i.decode() if isinstance(i, bytes) else i for i in reply]


async def append_events(
    redis: Redis,
    stream_key: str,
    state_key: str,
    events: Sequence[PendingEvent],
    *,
    attach: Sequence[tuple[str, bytes]] = (),
    then: Sequence[ThenCommand] = (),
    fence: Fence | None = None,
    activity: ActivityFeed | None = None,
    limits: StreamLimits,
) -> list[str] | None:
    """Append events (in order) and their state changes; None if the stream is sealed or gone.

    Each `attach` (key, value) is stored with the same lifetime, and each `then`
    command runs, only if the append happens: a result never outlives, or
    contradicts, its terminal event. With a `fence`, nothing is written unless
    it holds, and `Superseded` is raised. With an `activity` feed, lifecycle
    events are echoed to it.
    """
    then_keys, args = _args(events, limits, "update", [value for _, value in attach], then, fence, activity)
    return _ids(await _APPEND(redis, [stream_key, state_key, *(key for key, _ in attach), *then_keys], args))


async def append_event(
    redis: Redis,
    stream_key: str,
    state_key: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    state: StateFields | None = None,
    attach: Sequence[tuple[str, bytes]] = (),
    limits: StreamLimits,
) -> str | None:
    """Append one event; its id, or None if the stream is sealed or gone."""
    event = PendingEvent.make(event_type, data, state)
    ids = await append_events(redis, stream_key, state_key, [event], attach=attach, limits=limits)
    return ids[-1] if ids else None


def queue_append_events(
    pipe: Pipeline, stream_key: str, state_key: str, events: Sequence[PendingEvent], *, limits: StreamLimits
) -> None:
    """Queue `append_events` in a pipeline; its reply (ids, or None if sealed) is the pipeline's."""
    _then_keys, args = _args(events, limits, "update")
    _APPEND.queue(pipe, [stream_key, state_key], args)


async def run_if_current(redis: Redis, stream_key: str, state_key: str, fence: Fence | None,
                         then: Sequence[ThenCommand]) -> bool:
    """Run `then` atomically, only while `fence` holds (always without one); whether they ran.

    Neither the stream nor the state hash is touched (their limits are not read).
    """
    then_keys, args = _args([], StreamLimits(), "commands", then=then, fence=fence)
    try:
        _ids(await _APPEND(redis, [stream_key, state_key, *then_keys], args))
    except Superseded:
        return False
    return True


async def create_stream(
    redis: Redis,
    stream_key: str,
    state_key: str,
    event: PendingEvent,
    *,
    limits: StreamLimits,
    then: Sequence[ThenCommand] = (),
    activity: ActivityFeed | None = None,
) -> str | None:
    """Create a state hash with its first event, then run `then` (Redis commands), all atomically.

    One script, one round trip: a submit writes its record, its first event and
    its queue entries together or not at all (its echo to `activity` too). None
    if the state hash exists.
    """
    then_keys, args = _args([event], limits, "create", then=then, activity=activity)
    ids = await _APPEND(redis, [stream_key, state_key, *then_keys], args)
    return ids[-1].decode() if ids else None


_REOPEN = LuaScript(
    _SEALED_LUA
    + _ECHO_LUA
    + """
-- KEYS: stream, state hash, activity stream (if echoed)
-- ARGV: maxlen, ttl_s, activity ttl_s (0: no echo), guard field, allowed value count, allowed values ...,
--       type, data, field count, field, value ..., fields to delete ...
if redis.call("HEXISTS", KEYS[2], sealed) == 0 then return false end
local current = redis.call("HGET", KEYS[2], ARGV[4])
local n = tonumber(ARGV[5])
local allowed = false
for i = 6, 5 + n do if ARGV[i] == current then allowed = true end end
if not allowed then return false end
local i = 6 + n
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "type", ARGV[i], "data", ARGV[i + 1])
local nfields = tonumber(ARGV[i + 2])
redis.call("HDEL", KEYS[2], sealed)
if nfields > 0 then redis.call("HSET", KEYS[2], unpack(ARGV, i + 3, i + 2 + 2 * nfields)) end
for k = i + 3 + 2 * nfields, #ARGV do redis.call("HDEL", KEYS[2], ARGV[k]) end
redis.call("EXPIRE", KEYS[1], ARGV[2])
redis.call("EXPIRE", KEYS[2], ARGV[2])
if tonumber(ARGV[3]) > 0 then echo(KEYS[3], ARGV[1], ARGV[3], KEYS[2], id, ARGV[i], ARGV[i + 1]) end
return id
"""
)


async def reopen_stream(
    redis: Redis,
    stream_key: str,
    state_key: str,
    *,
    only_if: tuple[str, Sequence[str]],
    event: PendingEvent,
    clear: Sequence[str] = (),
    limits: StreamLimits,
    activity: ActivityFeed | None = None,
) -> str | None:
    """Unseal a sealed stream with a new first event, if `only_if` = (field, allowed values) holds.

    For re-running a finished job: the terminal event stays in the history,
    and the stream takes new events until its next terminal one.
    """
    field_name, allowed = only_if
    args: list[Any] = [limits.maxlen, limits.ttl_s, 0 if activity is None else max(1, activity.ttl_s),
                       field_name, len(allowed), *allowed, event.type, event.data, len(event.state)]
    for name, value in event.state.items():
        args.extend((name, value))
    args.extend(clear)
    keys = [stream_key, state_key] if activity is None else [stream_key, state_key, activity.key]
    entry_id = await _REOPEN(redis, keys, args)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
