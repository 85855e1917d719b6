"""The delivery job run by a real arq worker on a real Redis: retried by arq, then delivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job
from arq.worker import Worker, func

from jobs.queue.payloads import deserialize_job, serialize_job
from jobs.webhooks.delivery import MAX_DELIVERY_ATTEMPTS, deliver_event
from jobs.webhooks.signing import message_id

from .conftest import ClientFactory
from .receiver import Receiver

WEBHOOK_FUNCTION = "webhook"  # the name jobs.lifecycle.attempt queues deliveries under
JOB_ID = "0123456789abcdef0123456789abcdef"
EVENT_ID = "1732451234567-3"


@pytest.fixture
async def arq_redis(redis_url: str) -> AsyncIterator[ArqRedis]:
    redis = ArqRedis.from_url(redis_url)
    # JSON payloads, as the service's worker uses: the delivery's arguments must survive them.
    redis.job_serializer = serialize_job
    redis.job_deserializer = deserialize_job
    yield redis
    await redis.aclose()


async def deliver(ctx: dict[str, Any], *payload: Any) -> str:
    """arq's side of a delivery, as the service's job function has it: its client and arq's try number."""
    return await deliver_event(ctx["webhook_client"], ctx["job_try"], *payload)


async def run_burst(redis: ArqRedis, ctx: dict[str, Any]) -> Worker:
    """An arq worker that runs until its queue is empty, retries included, then stops."""
    worker = Worker(
        functions=[func(deliver, name=WEBHOOK_FUNCTION, max_tries=MAX_DELIVERY_ATTEMPTS)],
        redis_pool=redis,
        burst=True,
        poll_delay=0.05,
        handle_signals=False,
        job_serializer=serialize_job,
        job_deserializer=deserialize_job,
        ctx=ctx,
    )
    await worker.async_run()  # arq's close() would call redis-py's deprecated close(): the fixture closes
    return worker


async def test_arq_retries_a_failed_delivery_and_the_receiver_gets_the_same_id(
    arq_redis: ArqRedis, receiver: Receiver, secret: str, make_client: ClientFactory
) -> None:
    receiver.answers = [(502, {})]
    data = {"summary": "1 page", "result_url": f"/jobs/{JOB_ID}/result", "ts": 1_732_451_234_567}
    arq_job_id = f"wh-{JOB_ID}-{EVENT_ID}"
    job = await arq_redis.enqueue_job(
        WEBHOOK_FUNCTION, JOB_ID, EVENT_ID, "completed", data, receiver.url, secret, _job_id=arq_job_id
    )
    assert job is not None

    worker = await run_burst(arq_redis, {"webhook_client": make_client()})

    assert (worker.jobs_retried, worker.jobs_complete, worker.jobs_failed) == (1, 1, 0)
    result = await Job(arq_job_id, arq_redis, _deserializer=deserialize_job).result(timeout=5)
    assert result == "delivered"
    assert [d.verified for d in receiver.deliveries] == [True, True], [d.problem for d in receiver.deliveries]
    first, second = receiver.deliveries
    assert first.id == second.id == message_id(JOB_ID, EVENT_ID)
    assert first.body == second.body
    assert first.timestamp <= second.timestamp
