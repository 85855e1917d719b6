"""Requeuing what a draining worker leaves: the same attempt runs again elsewhere, at once.

arq counts a start of a job when it begins one (INCR of its retry key), and an
attempt's number is built on that count (`jobs.worker.functions`). A run cut
short by a drain is not a failure of the job, so its count is taken back: the
next run's `started` carries the same attempt number, and `max_attempts` comes
no sooner. Followers get a `retrying` event (code `worker_shutdown`, `delay_s`
0), never a terminal one.

Called after the job function was cancelled and before arq frees the job's
lease: the event is in the stream before another worker can claim the job.
"""

from __future__ import annotations

import contextlib

from jobs.errors import JobCancelled
from jobs.lifecycle.attempt import JobEnv, JobRun
from jobs.models import JobStatus, WebhookSpec
from jobs.queue.claim import record_id
from jobs.store.records import load_job
from streams.events import EventType

WORKER_SHUTDOWN = "worker_shutdown"


async def requeue_drained(env: JobEnv, arq_id: str, fence: int) -> None:
    """Take back arq's count of this start, and tell the job's followers (a job with a record: `fence` > 0)."""
    retry_key = env.queue.keys.arq_retry(arq_id)
    if int(await env.redis.get(retry_key) or 0) > 0:
        await env.redis.decr(retry_key)
    if fence == 0:
        return  # a webhook delivery or the cron: no record, no stream
    job = await load_job(env.redis, env.queue.keys, record_id(arq_id))
    if job is None:
        return
    webhook = WebhookSpec.model_validate(job.request["webhook"]) if job.request.get("webhook") else None
    run = JobRun(env, job.id, job.record.attempt, webhook, fence, job.owner)  # written only while its claim holds
    # Refused once the stream is sealed: the job was cancelled meanwhile, and that is its end.
    with contextlib.suppress(JobCancelled):
        await run.publish(
            EventType.RETRYING,
            {"attempt": job.record.attempt, "delay_s": 0, "code": WORKER_SHUTDOWN,
             "message": "the worker was shut down; the same attempt runs again on another worker"},
            {"status": JobStatus.RETRYING},
        )
