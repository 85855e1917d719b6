"""Publishing: one atomic step that appends events and updates the job state.

`append_events` runs one Lua script: XADD of each event (capped with
MAXLEN ~), HSET of their state fields, EXPIRE of the keys, all in one round
trip. A terminal event seals the stream: the script records its id in the
state hash and refuses every later append, so the terminal event is always the
last entry and the state and the stream never disagree, whoever (worker or
API) gets there first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .events import TERMINAL_TYPES, encode_data
from .lua import LuaScript

# The state-hash field holding the id of the terminal event once there is one.
SEALED_FIELD = "terminal_event_id"
# Both scripts name the field through this line, so the Python constant is the only spelling.
_SEALED_LUA = f'local sealed = "{SEALED_FIELD}"\n'

_APPEND = LuaScript(
    _SEALED_LUA
    + """
-- KEYS: stream, state hash, attachment key ..., then-command key ...
-- ARGV: maxlen, ttl_s, mode ("create" | "update"), event count, then-commands (JSON: [name, KEYS index
--       or 0, arg ...] each), attachment count, attachment value (one per key) ...,
--       then per event: type, data, terminal, field count, field, value, ...
if ARGV[3] == "create" then
    if redis.call("EXISTS", KEYS[2]) == 1 then return false end
elseif redis.call("EXISTS", KEYS[2]) == 0 or redis.call("HEXISTS", KEYS[2], sealed) == 1 then
    return false
end
local nattach = tonumber(ARGV[6])
local ids = {}
local i = 7 + nattach
for _ = 1, tonumber(ARGV[4]) do
    local nfields = tonumber(ARGV[i + 3])
    local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "type", ARGV[i], "data", ARGV[i + 1])
    if nfields > 0 then redis.call("HSET", KEYS[2], unpack(ARGV, i + 4, i + 3 + 2 * nfields)) end
    ids[#ids + 1] = id
    if ARGV[i + 2] == "1" then
        redis.call("HSET", KEYS[2], sealed, id)
        break
    end
    i = i + 4 + 2 * nfields
end
for k = 1, nattach do redis.call("SET", KEYS[2 + k], ARGV[6 + k], "EX", ARGV[2]) end
redis.call("EXPIRE", KEYS[1], ARGV[2])
redis.call("EXPIRE", KEYS[2], ARGV[2])
if ARGV[5] ~= "[]" then
    for _, command in ipairs(cjson.decode(ARGV[5])) do
        if command[2] > 0 then
            redis.call(command[1], KEYS[command[2]], unpack(command, 3))
        else
            redis.call(command[1], unpack(command, 3))
        end
    end
end
return ids
"""
)

StateFields = Mapping[str, str | int | float | bytes]


@dataclass(frozen=True, slots=True)
class StreamLimits:
    maxlen: int = 10_000
    ttl_s: int = 86_400


@dataclass(frozen=True, slots=True)
class ThenCommand:
    """A Redis command a script runs after its own writes, only if they happen.

    Its key is kept apart from its arguments so that the script receives it
    through KEYS (as a Redis Cluster needs); `key` is None for a command that
    names no key (PUBLISH names a channel).
    """

    name: str
    key: str | None
    args: tuple[str | int | float, ...] = ()

    def parts(self) -> tuple[str | int | float, ...]:
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


def _args(
    events: Sequence[PendingEvent], limits: StreamLimits, mode: str, attachments: Sequence[bytes] = (),
    then: Sequence[ThenCommand] = (),
) -> tuple[list[str], list[Any]]:
    """(the then-commands' keys, ARGV): each then-key lands in KEYS after the stream, state and attachments."""
    then_keys: list[str] = []
    commands: list[list[str | int]] = []
    for command in then:
        index = 0
        if command.key is not None:
            then_keys.append(command.key)
            index = 2 + len(attachments) + len(then_keys)
        commands.append([command.name, index, *(str(part) for part in command.args)])
    encoded = orjson.dumps(commands) if commands else b"[]"
    args: list[Any] = [limits.maxlen, limits.ttl_s, mode, len(events), encoded, len(attachments), *attachments]
    for event in events:
        args.extend((event.type, event.data, "1" if event.type in TERMINAL_TYPES else "0", len(event.state)))
        for name, value in event.state.items():
            args.extend((name, value))
    return then_keys, args


async def append_events(
    redis: Redis,
    stream_key: str,
    state_key: str,
    events: Sequence[PendingEvent],
    *,
    attach: Sequence[tuple[str, bytes]] = (),
    then: Sequence[ThenCommand] = (),
    limits: StreamLimits,
) -> list[str] | None:
    """Append events (in order) and their state changes; None if the stream is sealed or gone.

    Each `attach` (key, value) is stored with the same lifetime, and each `then`
    command runs, only if the append happens: a result never outlives, or
    contradicts, its terminal event.
    """
    then_keys, args = _args(events, limits, "update", [value for _, value in attach], then)
    ids = await _APPEND(redis, [stream_key, state_key, *(key for key, _ in attach), *then_keys], args)
    if not ids:
        return None
    return [i.decode() if isinstance(i, bytes) else i for i in ids]


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


async def create_stream(
    redis: Redis,
    stream_key: str,
    state_key: str,
    event: PendingEvent,
    *,
    limits: StreamLimits,
    then: Sequence[ThenCommand] = (),
) -> str | None:
    """Create a state hash with its first event, then run `then` (Redis commands), all atomically.

    One script, one round trip: a submit writes its record, its first event and
    its queue entries together or not at all. None if the state hash exists.
    """
    then_keys, args = _args([event], limits, "create", then=then)
    ids = await _APPEND(redis, [stream_key, state_key, *then_keys], args)
    return ids[-1].decode() if ids else None


_REOPEN = LuaScript(
    _SEALED_LUA
    + """
-- KEYS: stream, state hash
-- ARGV: maxlen, ttl_s, guard field, allowed value count, allowed values ..., type, data, field count,
--       field, value ..., fields to delete ...
if redis.call("HEXISTS", KEYS[2], sealed) == 0 then return false end
local current = redis.call("HGET", KEYS[2], ARGV[3])
local n = tonumber(ARGV[4])
local allowed = false
for i = 5, 4 + n do if ARGV[i] == current then allowed = true end end
if not allowed then return false end
local i = 5 + n
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "type", ARGV[i], "data", ARGV[i + 1])
local nfields = tonumber(ARGV[i + 2])
redis.call("HDEL", KEYS[2], sealed)
if nfields > 0 then redis.call("HSET", KEYS[2], unpack(ARGV, i + 3, i + 2 + 2 * nfields)) end
for k = i + 3 + 2 * nfields, #ARGV do redis.call("HDEL", KEYS[2], ARGV[k]) end
redis.call("EXPIRE", KEYS[1], ARGV[2])
redis.call("EXPIRE", KEYS[2], ARGV[2])
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
) -> str | None:
    """Unseal a sealed stream with a new first event, if `only_if` = (field, allowed values) holds.

    For re-running a finished job: the terminal event stays in the history,
    and the stream takes new events until its next terminal one.
    """
    field_name, allowed = only_if
    args: list[Any] = [limits.maxlen, limits.ttl_s, field_name, len(allowed), *allowed,
                       event.type, event.data, len(event.state)]
    for name, value in event.state.items():
        args.extend((name, value))
    args.extend(clear)
    entry_id = await _REOPEN(redis, [stream_key, state_key], args)
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id
