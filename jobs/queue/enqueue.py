"""Writing arq jobs directly: the payload key and the queue entry.

arq's `enqueue_job` spends four round trips (WATCH, EXISTS, MULTI/EXEC) making a
caller-chosen id unique. Our ids are random or derived from a unique event, so
the job is written next to whatever else the caller commits in one round trip:
as commands for a Lua script (`streams.publish.create_stream(then=...)`), or
queued in a pipeline.
"""

from __future__ import annotations

from typing import Any

from arq.jobs import serialize_job
from redis.asyncio.client import Pipeline

from jobs.queue.arq_layout import QUEUE_KEY, arq_job_key
from jobs.queue.payloads import serialize_job as to_json
from streams.events import now_ms


def arq_job_commands(
    function: str,
    job_id: str,
    args: tuple[Any, ...],
    *,
    score_ms: int | None,
    ttl_s: int,
    wake_channel: str | None = None,
) -> list[tuple[str | int, ...]]:
    """The job's payload (and, unless `score_ms` is None, its queue entry and a wake).

    A job without a queue entry waits elsewhere (scheduled) until it is promoted.
    """
    payload = serialize_job(function, args, {}, None, now_ms(), serializer=to_json)
    # arq drops a job whose key expired before it ran; keep it as long as the record.
    commands: list[tuple[str | int, ...]] = [("PSETEX", arq_job_key(job_id), ttl_s * 1000, payload.decode())]
    if score_ms is not None:
        commands.append(("ZADD", QUEUE_KEY, score_ms, job_id))
        if wake_channel is not None:
            commands.append(("PUBLISH", wake_channel, "job"))
    return commands


def queue_arq_job(
    pipe: Pipeline,
    function: str,
    job_id: str,
    args: tuple[Any, ...],
    *,
    score_ms: int | None,
    ttl_s: int,
    wake_channel: str | None = None,
) -> None:
    """`arq_job_commands`, queued in a pipeline."""
    for command in arq_job_commands(function, job_id, args, score_ms=score_ms, ttl_s=ttl_s,
                                    wake_channel=wake_channel):
        pipe.execute_command(*command)
