"""Publishing: one atomic step that appends an event and updates the job state.

`append_event` runs one Lua script: XADD (capped with MAXLEN ~), HSET of the
state fields, EXPIRE of both keys. A terminal event seals the stream: the
script records its id in the state hash and refuses every later append, so
the terminal event is always the last entry and the state and the stream
never disagree, whoever (worker or API) gets there first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
-- ARGV: type, data, maxlen, ttl_s, mode ("create" | "update"), terminal ("1" | "0"),
--       attachment value ("" if none), field, value, ...
if ARGV[5] == "create" then
    if redis.call("EXISTS", KEYS[2]) == 1 then return false end
elseif redis.call("EXISTS", KEYS[2]) == 0 or redis.call("HEXISTS", KEYS[2], "terminal_event_id") == 1 then
    return false
end
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[3], "*", "type", ARGV[1], "data", ARGV[2])
if #ARGV > 7 then redis.call("HSET", KEYS[2], unpack(ARGV, 8)) end
if ARGV[6] == "1" then redis.call("HSET", KEYS[2], "terminal_event_id", id) end
if KEYS[3] then redis.call("SET", KEYS[3], ARGV[7], "EX", ARGV[4]) end
redis.call("EXPIRE", KEYS[1], ARGV[4])
redis.call("EXPIRE", KEYS[2], ARGV[4])
return id
"""
)


@dataclass(frozen=True, slots=True)
class StreamLimits:
    maxlen: int = 10_000
    ttl_s: int = 86_400


def _args(
    event_type: str,
    data: Mapping[str, Any],
    state: Mapping[str, str | int | float | bytes],
    limits: StreamLimits,
    mode: str,
    attachment: bytes = b"",
) -> list[Any]:
    terminal = "1" if event_type in TERMINAL_TYPES else "0"
    args: list[Any] = [
        event_type, encode_data(dict(data)), limits.maxlen, limits.ttl_s, mode, terminal, attachment
    ]
    for field, value in state.items():
        args.extend((field, value))
    return args


async def append_event(
    redis: Redis,
    stream_key: str,
    state_key: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    state: Mapping[str, str | int | float | bytes] | None = None,
    attach: tuple[str, bytes] | None = None,
    limits: StreamLimits,
) -> str | None:
    """Append one event and update the state hash; None if the stream is sealed or gone.

    `attach` = (key, value) is stored with the same lifetime, only if the
    append happens: a result never outlives, or contradicts, its terminal event.
    """
    keys = [stream_key, state_key]
    attachment = b""
    if attach is not None:
        keys.append(attach[0])
        attachment = attach[1]
    entry_id = await _APPEND(
        redis, keys, _args(event_type, data, state or {}, limits, "update", attachment)
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def queue_create(
    pipe: Pipeline,
    stream_key: str,
    state_key: str,
    event_type: str,
    data: Mapping[str, Any],
    *,
    state: Mapping[str, str | int | float | bytes],
    limits: StreamLimits,
) -> None:
    """Queue, in a pipeline, the creation of a state hash with its first event."""
    _APPEND.queue(pipe, [stream_key, state_key], _args(event_type, data, state, limits, "create"))
