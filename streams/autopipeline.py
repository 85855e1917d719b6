"""A Redis client that sends the commands issued in one event-loop turn as one pipeline.

Many submits arrive together (one read of the event loop wakes many
connections); each one's script would cost a write and a read on a Redis
connection, on both sides. Gathered per loop turn they cost one of each for
the lot, as node-redis and ioredis do with auto-pipelining. The pipeline is
not a transaction: each command is atomic on its own (a script runs whole),
and each caller gets its own reply or its own error, as if it ran alone.

For short commands only: a blocking one (XREAD BLOCK, BLPOP) would hold up
every command queued behind it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool


class AutoPipelineRedis(Redis):
    """A client on `pool` whose `execute_command` joins the current loop turn's pipeline."""

    def __init__(self, pool: ConnectionPool) -> None:
        super().__init__(connection_pool=pool)
        self._queued: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # strong references while they run

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self._queued.append((args, options, reply))
        if len(self._queued) == 1:
            # Its first step runs after every task that is ready now has had its own: they all join.
            task = loop.create_task(self._send())
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return await reply

    async def _send(self) -> None:
        batch, self._queued = self._queued, []
        try:
            if len(batch) == 1:
                args, options, _ = batch[0]
                replies: list[Any] = [await super().execute_command(*args, **options)]  # type: ignore[no-untyped-call]
            else:
                async with self.pipeline(transaction=False) as pipe:
                    for args, options, _ in batch:
                        pipe.execute_command(*args, **options)
                    replies = await pipe.execute(raise_on_error=False)
        except Exception as exc:  # the connection failed: every command of the batch failed with it
            for _, _, reply in batch:
                if not reply.done():
                    reply.set_exception(exc)
            return
        except BaseException:  # cancelled (the loop is closing): so are the commands waiting on it
            for _, _, reply in batch:
                reply.cancel()
            raise
        for (_, _, reply), value in zip(batch, replies, strict=True):
            if reply.done():  # its caller was cancelled
                continue
            if isinstance(value, Exception):
                reply.set_exception(value)
            else:
                reply.set_result(value)
