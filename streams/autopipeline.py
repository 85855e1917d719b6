"""A Redis client that sends the commands issued in one event-loop turn as one pipeline.

Many submits arrive together (one read of the event loop wakes many
connections); each one's script would cost a write and a read on a Redis
connection, on both sides. Gathered per loop turn they cost one of each for
the lot, as node-redis and ioredis do with auto-pipelining. The pipeline is
not a transaction: each command is atomic on its own (a script runs whole),
and each caller gets its own reply or its own error, as if it ran alone.

Commands are packed by hiredis (in C, as redis-py's own synchronous client
does when hiredis is there): redis-py's asyncio client packs in Python, which
cost a submit's script (60-odd arguments) more than anything else the web
process does for it. Replies are read by the client's own `parse_response`.

For short commands only: a blocking one (XREAD BLOCK, BLPOP) would hold up
every command queued behind it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import ConnectionPool
from redis.exceptions import DataError, ResponseError

Queued = tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]


def pack_command(args: tuple[Any, ...]) -> bytes:
    """One command in the Redis protocol; a first argument of several words ("SCRIPT FLUSH") is split,
    and an argument of no Redis type is a DataError, as redis-py's packer has them."""
    name = args[0]
    words = tuple((name.encode() if isinstance(name, str) else name).split())
    try:
        packed: bytes = hiredis.pack_command(words + args[1:])
    except TypeError as exc:
        raise DataError(str(exc)) from exc
    return packed


class AutoPipelineRedis(Redis):
    """A client on `pool` whose `execute_command` joins the current loop turn's pipeline."""

    def __init__(self, pool: ConnectionPool) -> None:
        super().__init__(connection_pool=pool)
        self._queued: list[Queued] = []
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
        queued, self._queued = self._queued, []
        batch: list[Queued] = []
        packed: list[bytes] = []
        for command in queued:
            try:
                packed.append(pack_command(command[0]))
            except DataError as exc:  # never sent: only its caller hears of it
                command[2].set_exception(exc)
                continue
            batch.append(command)
        if not batch:
            return
        try:
            replies = await self._round_trip(packed, batch)
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

    async def _round_trip(self, packed: list[bytes], batch: list[Queued]) -> list[Any]:
        """One write of every command, then their replies in order (an error reply is its command's)."""
        connection = await self.connection_pool.get_connection()
        try:
            await connection.send_packed_command(b"".join(packed))  # one write, whatever the transport
            replies: list[Any] = []
            for args, options, _ in batch:
                try:
                    replies.append(await self.parse_response(connection, args[0], **options))
                except ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # Replies may still be owed on it: they must not reach the next command sent on it.
            await connection.disconnect(nowait=True)
            raise
        finally:
            await self.connection_pool.release(connection)
