"""Writing arq jobs directly: the payload key and the entry in its kind's queue.

arq's `enqueue_job` spends four round trips (WATCH, EXISTS, MULTI/EXEC) making a
caller-chosen id unique. Our ids are random or derived from a unique event, so
the job is written next to whatever else the caller commits in one round trip:
as commands for a Lua script (`streams.publish.create_stream(then=...)`), or
queued in a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from arq.jobs import serialize_job
from redis.asyncio.client import Pipeline

from jobs.queue.kinds import queue_of
from jobs.queue.payloads import serialize_job as to_json
from streams.events import now_ms
from streams.keys import Keyspace
from streams.publish import ThenCommand


def arq_job_commands(
    keys: Keyspace,
    function: str,
    job_id: str,
    args: tuple[Any, ...],
    *,
    kind: str | None,
    score_ms: int | None,
    ttl_s: int,
    wake: bool = False,
) -> list[ThenCommand]:
    """The job's payload (and, unless `score_ms` is None, its entry in the queue of `kind` and, with `wake`,
    a wake). `kind` None: the shared queue (a webhook delivery).

    A job without a queue entry waits elsewhere (scheduled) until it is promoted.
    """
    payload = serialize_job(function, args, {}, None, now_ms(), serializer=to_json)
    # arq drops a job whose key expired before it ran; keep it as long as the record.
    commands = [ThenCommand("PSETEX", keys.arq_job(job_id), (ttl_s * 1000, payload.decode()))]
    if score_ms is not None:
        commands.append(ThenCommand("ZADD", queue_of(keys, kind), (score_ms, job_id)))
        if wake:
            commands.append(ThenCommand("PUBLISH", None, (keys.wake_channel(), "job")))
    return commands


def queue_commands(pipe: Pipeline, commands: Iterable[ThenCommand]) -> None:
    """Queue `commands` (e.g. `arq_job_commands`') in a pipeline, for a caller that commits with MULTI/EXEC."""
    for command in commands:
        pipe.execute_command(*command.parts())
