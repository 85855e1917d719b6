"""Poison payloads: whatever is hand-written into arq's queue, the worker ends it once and keeps serving.

Each kind is planted twice: as the payload of a job with a record (which must
end `failed` with `invalid_payload`, one terminal event, never started) and
under an id with no record (which must only leave the queue). Both are
counted in `/metrics`. A pickle payload is never unpickled: it is not JSON.
"""

from __future__ import annotations

import asyncio
import pickle
import uuid
from typing import Any

import orjson
import pytest

from jobs.settings import Settings
from streams.events import now_ms
from streams.keys import Keyspace
from tests.support.stack import Stack, running_stack


def arq_payload(function: Any = "scrape", args: Any = None, **fields: Any) -> dict[str, Any]:
    """What arq writes for a job, with any field replaced (`args` defaults to a valid scrape's)."""
    payload = {"t": None, "f": function, "a": args if args is not None else ["someid", {"url": "https://x"}, "public"],
               "k": {}, "et": now_ms()}
    payload.update(fields)
    return payload


def without(payload: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in payload.items() if key not in keys}


# None: the payload key is missing entirely.
POISONS: dict[str, bytes | None] = {
    "not JSON": b"\xff\xfe{'f': 'scrape'",
    "pickle": pickle.dumps(arq_payload(), protocol=pickle.HIGHEST_PROTOCOL),
    "a JSON list": orjson.dumps(list(arq_payload().values())),
    "a JSON string": orjson.dumps("scrape"),
    "missing keys": orjson.dumps(without(arq_payload(), "k", "et")),
    "args not a list": orjson.dumps(arq_payload(args={"job_id": "x"})),
    "kwargs not an object": orjson.dumps(arq_payload(k=["public"])),
    "a request that is not an object": orjson.dumps(arq_payload(args=["someid", "https://x", "public"])),
    "a job id that is a number": orjson.dumps(arq_payload(args=[42, {"url": "https://x"}, "public"])),
    "too many arguments": orjson.dumps(arq_payload(args=["someid", {}, "public", 0, "extra"])),
    "an unknown keyword": orjson.dumps(arq_payload(k={"ctx": {}})),
    "a try count that is text": orjson.dumps(arq_payload(t="1")),
    "an unknown function": orjson.dumps(arq_payload(function="os.system", args=["touch /tmp/pwned"])),
    "a function name that is not text": orjson.dumps(arq_payload(function=["scrape"])),
    "no payload at all": None,
}


async def plant(stack: Stack, keys: Keyspace, arq_id: str, payload: bytes | None) -> None:
    """Write the payload and queue entry by hand, as anyone with access to Redis could."""
    async with stack.state.redis.pipeline(transaction=True) as pipe:
        pipe.zrem(keys.scheduled(), arq_id)  # a scheduled job's own entry: it must not come back
        pipe.delete(keys.arq_job(arq_id))
        if payload is not None:
            pipe.set(keys.arq_job(arq_id), payload, ex=600)
        pipe.zadd(keys.arq_queue(), {arq_id: 1})  # due since 1970: first in line
        pipe.publish(keys.wake_channel(), b"job")
        await pipe.execute()


async def ended(stack: Stack, job_id: str) -> list[dict[str, Any]]:
    """The job's events once its stream has closed (a safety net, not a timing: it takes milliseconds)."""
    return await asyncio.wait_for(stack.wait_terminal(job_id), 15)


async def metric(stack: Stack, name: str) -> str:
    response = await stack.client.get("/metrics")
    assert response.status_code == 200
    return next(line for line in response.text.splitlines() if line.startswith(name + " "))


@pytest.fixture
async def one_at_a_time(settings: Settings) -> Any:
    # One slot: jobs run in queue order, so a job submitted after a poison one
    # starts only once the worker is done with the poison.
    async with running_stack(settings.model_copy(update={"worker_concurrency": 1})) as stack:
        yield stack


@pytest.mark.parametrize("kind", list(POISONS))
async def test_a_poison_payload_fails_its_job_and_the_worker_keeps_serving(
    one_at_a_time: Stack, site: str, kind: str
) -> None:
    stack = one_at_a_time
    keys = Keyspace(stack.settings.key_prefix)
    # A job with a record whose payload is then replaced: scheduled far ahead, so no worker runs it first.
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 3600})
    await plant(stack, keys, job["id"], POISONS[kind])

    events = await ended(stack, job["id"])

    assert [event["type"] for event in events] == ["queued", "failed"]
    assert events[-1]["data"]["code"] == "invalid_payload"
    assert events[-1]["data"]["message"]
    record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == "failed" and record["error"]["code"] == "invalid_payload"
    assert record["started_at"] is None

    # The same poison under an id that has no record, then a normal job behind it.
    orphan = uuid.uuid4().hex
    await plant(stack, keys, orphan, POISONS[kind])
    normal = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    assert (await ended(stack, normal["id"]))[-1]["type"] == "completed"

    for arq_id in (job["id"], orphan):
        assert await stack.state.redis.zscore(keys.arq_queue(), arq_id) is None  # never picked up again
        assert await stack.state.redis.exists(keys.arq_job(arq_id), keys.arq_in_progress(arq_id)) == 0
    assert await metric(stack, "scrapestream_invalid_payloads_total") == "scrapestream_invalid_payloads_total 2.0"
    assert (await metric(stack, 'scrapestream_jobs_ended_total{status="failed"}')).endswith(" 1.0")
    # And the poison job's stream still ends with its one terminal event.
    assert [event["type"] for event in await ended(stack, job["id"])] == ["queued", "failed"]


async def test_a_poison_entry_that_is_not_the_jobs_current_run_leaves_the_job_alone(
    one_at_a_time: Stack, site: str
) -> None:
    """A re-run's arq id is `<job id>.<n>`; an entry naming a run the job is not on cannot end it."""
    stack = one_at_a_time
    keys = Keyspace(stack.settings.key_prefix)
    job = await stack.submit({"type": "scrape", "url": f"{site}/plain", "delay_s": 3600})
    await plant(stack, keys, f"{job['id']}.7", POISONS["not JSON"])
    normal = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
    assert (await ended(stack, normal["id"]))[-1]["type"] == "completed"

    assert await stack.state.redis.zscore(keys.arq_queue(), f"{job['id']}.7") is None
    assert await metric(stack, "scrapestream_invalid_payloads_total") == "scrapestream_invalid_payloads_total 1.0"
    record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == "scheduled" and record["error"] is None
