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

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from .events import TERMINAL_TYPES, encode_data
from .lua import LuaScript

# The state-hash field holding the id of the terminal event once there is one.
SEALED_FIELD = "terminal_event_id"

_APPEND = LuaScript(
    """
-- KEYS: stream, state hash, [attachment key]
-- ARGV: maxlen, ttl_s, mode ("create" | "update"), attachment ("" if none), event count,
--       then per event: type, data, terminal ("1" | "0"), field count, field, value, ...
if ARGV[3] == "create" then
    if redis.call("EXISTS", KEYS[2]) == 1 then return false end
elseif redis.call("EXISTS", KEYS[2]) == 0 or redis.call("HEXISTS", KEYS[2], "terminal_event_id") == 1 then
    return false
end
local ids = {}
local i = 6
for _ = 1, tonumber(ARGV[5]) do
    local nfields = tonumber(ARGV[i + 3])
    local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[1], "*", "type", ARGV[i], "data", ARGV[i + 1])
    if nfields > 0 then redis.call("HSET", KEYS[2], unpack(ARGV, i + 4, i + 3 + 2 * nfields)) end
    ids[#ids + 1] = id
    if ARGV[i + 2] == "1" then
        redis.call("HSET", KEYS[2], "terminal_event_id", id)
        break
    end
    i = i + 4 + 2 * nfields
end
if KEYS[3] then redis.call("SET", KEYS[3], ARGV[4], "EX", ARGV[2]) end
redis.call("EXPIRE", KEYS[1], ARGV[2])
redis.call("EXPIRE", KEYS[2], ARGV[2])
return ids
"""
)

StateFields = Mapping[str, str | int | float | bytes]


@dataclass(frozen=True, slots=True)
class StreamLimits:
    maxlen: int = 10_000
    ttl_s: int = 86_400


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event to publish: its type, its data (stamped with `ts` now) and state changes."""

    type: str
    data: bytes
    state: StateFields = field(default_factory=dict)

    @classmethod
    def make(cls, event_type: str, data: Mapping[str, Any], state: StateFields | None = None) -> PendingEvent:
        return cls(event_type, encode_data(dict(data)), state or {})


def _args(events: Sequence[PendingEvent], limits: StreamLimits, mode: str, attachment: bytes) -> list[Any]:
    args: list[Any] = [limits.maxlen, limits.ttl_s, mode, attachment, len(events)]
    for event in events:
        args.extend((event.type, event.data, "1" if event.type in TERMINAL_TYPES else "0", len(event.state)))
        for name, value in event.state.items():
            args.extend((name, value))
    return args


async def append_events(
    redis: Redis,
    stream_key: str,
    state_key: str,
    events: Sequence[PendingEvent],
    *,
    attach: tuple[str, bytes] | None = None,
    limits: StreamLimits,
) -> list[str] | None:
    """Append events (in order) and their state changes; None if the stream is sealed or gone.

    `attach` = (key, value) is stored with the same lifetime, only if the
    append happens: a result never outlives, or contradicts, its terminal event.
    """
    keys = [stream_key, state_key]
    attachment = b""
    if attach is not None:
        keys.append(attach[0])
        attachment = attach[1]
    ids = await _APPEND(redis, keys, _args(events, limits, "update", attachment))
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
    attach: tuple[str, bytes] | None = None,
    limits: StreamLimits,
) -> str | None:
    """Append one event; its id, or None if the stream is sealed or gone."""
    event = PendingEvent.make(event_type, data, state)
    ids = await append_events(redis, stream_key, state_key, [event], attach=attach, limits=limits)
    return ids[-1] if ids else None


def queue_create(
    pipe: Pipeline,
    stream_key: str,
    state_key: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    state: StateFields,
    limits: StreamLimits,
) -> None:
    """Queue, in a pipeline, the creation of a state hash with its first event."""
    _APPEND.queue(pipe, [stream_key, state_key], _args([PendingEvent.make(event_type, data, state)], limits,
                                                      "create", b""))
