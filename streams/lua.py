"""Lua scripts run by SHA, falling back to their text when Redis lost them."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError


class LuaScript:
    """A script called with EVALSHA on a client, or EVAL inside a pipeline.

    redis-py's own `Script` makes every pipeline that holds one send an extra
    SCRIPT EXISTS first. Queuing plain EVAL in a pipeline costs no round trip,
    and it cannot hit NOSCRIPT half-way through a MULTI (which Redis would not
    roll back).
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, client: Redis, keys: list[str], args: list[Any]) -> Any:
        try:
            return await cast(Awaitable[Any], client.evalsha(self.sha, len(keys), *keys, *args))
        except NoScriptError:
            # A restarted (or different) Redis has an empty script cache.
            return await cast(Awaitable[Any], client.eval(self.source, len(keys), *keys, *args))

    def queue(self, pipe: Pipeline, keys: list[str], args: list[Any]) -> None:
        pipe.eval(self.source, len(keys), *keys, *args)
