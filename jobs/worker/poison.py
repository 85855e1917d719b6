"""Poison payloads: a claimed arq job that no worker can run ends here, once.

Anyone who can write to Redis can put anything in arq's queue: bytes that are
not JSON, a pickle, JSON of the wrong shape, an unknown function, an id whose
payload key is gone. Left to arq, most of these are dropped silently (the
job's record then says `queued` forever) and some make arq's `run_job` raise
before it removes the entry, so every worker picks it up again, forever.

Before arq runs a claimed job, `PoisonGuard` reads its payload
(`jobs.queue.payloads.PayloadReader`). A poison one is counted
(`invalid_payloads` in the stats hash, which `/metrics` reports), taken out of
arq's queue with its payload, lease and try count, and, when it is the current
arq job of a job record, ends that job as `failed` with `invalid_payload`
through the same sealed publish as any failure: one terminal event at most.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from jobs.errors import InvalidPayload
from jobs.lifecycle.attempt import JobRun, publish_failure
from jobs.models import WebhookSpec
from jobs.queue.payloads import INVALID_PAYLOADS_FIELD, PayloadReader
from jobs.store.records import load_job
from jobs.worker.context import WorkerContext

logger = logging.getLogger("scrapestream.worker")

class PoisonGuard:
    """Checks each claimed job's payload before arq runs it, and ends the job if it is poison."""

    def __init__(self, functions: Mapping[str, Callable[..., Awaitable[Any]]]) -> None:
        self.reader = PayloadReader(functions)

    async def rejects(self, context: WorkerContext, arq_id: str, queue: str) -> bool:
        """True if the payload was poison and the job has been dealt with (its entry gone from `queue`);
        False: let arq run it."""
        raw = await context.env.redis.get(context.env.queue.keys.arq_job(arq_id))
        try:
            self.reader.read(raw)
        except InvalidPayload as exc:
            logger.warning("deserializing job %s failed (%s): it ends as %s", arq_id, exc.message, exc.code)
            await _fail_job(context, arq_id, exc)
            await _drop_from_queue(context, arq_id, queue)
            return True
        return False


async def _fail_job(context: WorkerContext, arq_id: str, error: InvalidPayload) -> None:
    """End the job as failed, if `arq_id` is the current arq job of a job that has not ended."""
    env = context.env
    # A re-run's arq id is "<job id>.<n>"; a webhook delivery's ("wh-...") has no record.
    stored = await load_job(env.redis, env.queue.keys, arq_id.split(".", 1)[0])
    if stored is None or stored.arq_id != arq_id:
        return  # an entry of no job, or a stale one: the job's real run is elsewhere
    webhook = WebhookSpec.model_validate(stored.request["webhook"]) if stored.request.get("webhook") else None
    run = JobRun(env, stored.id, stored.record.attempt, webhook, context.fences.get(arq_id), stored.owner)
    await publish_failure(run, error)
    if stored.owner is not None:
        await context.running_cap.release(env.redis, stored.owner, arq_id, fence=context.fences.get(arq_id))


async def _drop_from_queue(context: WorkerContext, arq_id: str, queue: str) -> None:
    """What arq does with a job it cannot run, plus the count, atomically: never picked up again."""
    keys = context.env.queue.keys
    async with context.env.redis.pipeline(transaction=True) as pipe:
        pipe.zrem(queue, arq_id)
        pipe.delete(keys.arq_job(arq_id), keys.arq_in_progress(arq_id), keys.arq_retry(arq_id))
        pipe.zrem(keys.arq_abort(), arq_id)
        pipe.hincrby(keys.stats(), INVALID_PAYLOADS_FIELD, 1)
        await pipe.execute()
