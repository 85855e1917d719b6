"""Lua scripts run by SHA, falling back to their text when Redis lost them."""

from __future__ import annotations

import hashlib
from typing import Any

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
        # The commands as `evalsha` and `eval` send them, without their wrappers' copies of every
        # argument (a submit's script has 60-odd).
        try:
            return await client.execute_command(  # type: ignore[no-untyped-call]
                "EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            # A restarted (or different) Redis has an empty script cache.
            return await client.execute_command(  # type: ignore[no-untyped-call]
                "EVAL", self.source, len(keys), *keys, *args)

    def queue(self, pipe: Pipeline, keys: list[str], args: list[Any]) -> None:
        pipe.eval(self.source, len(keys), *keys, *args)
