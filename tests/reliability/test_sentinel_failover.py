"""Redis that fails over: the primary is SIGKILLed under load, and the service carries on by itself.

A primary, a replica and three sentinels on loopback; the web app (uvicorn)
and a worker (`scrapestream worker`) are processes of their own, both given
only the `redis+sentinel://` URL. Jobs the primary had replicated when it died
all complete, with exactly one terminal event each; submits made after the
kill are accepted once the sentinels have promoted the replica (the client
retries meanwhile, with an Idempotency-Key so that a retry never makes a
second job), and complete too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from service.settings import WebSettings
from streams.keys import Keyspace
from tests.support.process import ROOT, settings_env, web_process
from tests.support.sentinel import SentinelCluster
from tests.support.sse import iter_frames

TERMINAL = {"completed", "failed", "cancelled"}
BEFORE_KILL = 40
AFTER_KILL = 10
# Safety nets only: each wait below ends on an event long before these.
SUBMIT_DEADLINE_S = 30.0
FOLLOW_DEADLINE_S = 60.0


@pytest.fixture
def cluster() -> Iterator[SentinelCluster]:
    cluster = SentinelCluster().start()
    try:
        yield cluster
    finally:
        cluster.cleanup()


@contextlib.asynccontextmanager
async def worker_process(env: dict[str, str]) -> AsyncIterator[subprocess.Popen[bytes]]:
    worker = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"],  # noqa: ASYNC220
                              env={**os.environ, **env}, cwd=ROOT)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            await asyncio.to_thread(worker.wait, 10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def submit_until_accepted(client: httpx.AsyncClient, url: str) -> str:
    """POST /jobs, retried while Redis fails over (503, or the connection dropped)."""
    body = {"type": "scrape", "url": url}
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    async with asyncio.timeout(SUBMIT_DEADLINE_S):
        while True:
            with contextlib.suppress(httpx.TransportError):
                response = await client.post("/jobs", json=body, headers=headers)
                if response.status_code == 202:
                    job_id: str = response.json()["id"]
                    return job_id
                assert response.status_code == 503, response.text
            await asyncio.sleep(0.1)


async def follow_to_the_end(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    """Follow a job's events as EventSource does: reconnect with Last-Event-ID until a terminal event."""
    events: list[dict[str, Any]] = []
    try:
        return await asyncio.wait_for(_follow(client, job_id, events), FOLLOW_DEADLINE_S)
    except TimeoutError:
        record = (await client.get(f"/jobs/{job_id}")).text
        raise AssertionError(f"job {job_id} never ended: saw {events}; its record: {record}") from None


async def _follow(client: httpx.AsyncClient, job_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    headers: dict[str, str] = {}
    while True:
        with contextlib.suppress(httpx.TransportError):
            async with client.stream("GET", f"/jobs/{job_id}/events", headers=headers) as response:
                assert response.status_code in (200, 503), response.status_code
                async for frame in iter_frames(response):
                    if "id" not in frame:
                        continue  # a bare `retry:` hint while Redis is away
                    events.append({"id": frame["id"], "type": frame.get("event", "message"),
                                   "data": orjson.loads(frame["data"])})
                    headers = {"Last-Event-ID": frame["id"]}
                    if events[-1]["type"] in TERMINAL:
                        return events
        await asyncio.sleep(0.2)


async def history(client: httpx.AsyncClient, job_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/jobs/{job_id}/events", params={"format": "json"})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


async def test_the_service_rides_a_sentinel_failover_and_every_replicated_job_completes(
    cluster: SentinelCluster, site: str
) -> None:
    settings = WebSettings(
        _env_file=None,  # type: ignore[call-arg]
        redis_url=cluster.url, allow_private_addresses="true", allowed_ports="*",
        auth_required=False, submits_per_minute=0,
        # A job cut off by the crash runs again within 2 s of its worker's last renewal.
        worker_lease_s=2, worker_concurrency=8,
        log_level="ERROR",  # the worker's warnings while the master is away are expected

    )
    env = settings_env(settings)
    page = f"{site}/slow?s=0.3"  # 40 jobs, 8 at a time: still running when the primary dies
    async with web_process(settings) as web, worker_process(env), \
            httpx.AsyncClient(base_url=web.base_url, timeout=10) as client:
        before = [await submit_until_accepted(client, page) for _ in range(BEFORE_KILL)]
        # Followers attached now hold the web process's hub in XREAD BLOCK on the primary.
        followers = [asyncio.create_task(follow_to_the_end(client, job_id)) for job_id in before]
        with cluster.primary.client() as primary:
            replicated = await asyncio.to_thread(primary.execute_command, "WAIT", 1, 5000)
        assert replicated == 1, "the replica never acknowledged the submits"

        cluster.primary.kill()
        killed_at = time.monotonic()
        unfinished = sum(not follower.done() for follower in followers)
        after = [await submit_until_accepted(client, page)]
        print(f"\nkilled with {unfinished} of {BEFORE_KILL} jobs unfinished; a submit was accepted "
              f"again {time.monotonic() - killed_at:.2f} s after the kill")
        after += [await submit_until_accepted(client, page) for _ in range(AFTER_KILL - 1)]

        followed = await asyncio.gather(*followers)
        followed += await asyncio.gather(*(follow_to_the_end(client, job_id) for job_id in after))
        # The terminal event every follower saw; the stream the new master holds is the truth.
        assert [events[-1]["type"] for events in followed] == ["completed"] * (BEFORE_KILL + AFTER_KILL)
        for job_id in before + after:
            entries = await history(client, job_id)
            terminal = [entry["type"] for entry in entries if entry["type"] in TERMINAL]
            assert terminal == ["completed"], (job_id, entries)
            assert entries[-1]["type"] == "completed"
        # The worker's wake subscription moved over too (submits wake it, not only its poll).
        host, port = cluster.master_address()
        wake = Keyspace(settings.key_prefix).wake_channel()
        async with Redis(host=host, port=port) as master, asyncio.timeout(SUBMIT_DEADLINE_S):
            while (await master.pubsub_numsub(wake))[0][1] < 1:  # noqa: ASYNC110 - no event tells of a subscriber
                await asyncio.sleep(0.05)

    # Nobody pointed the service anywhere: the sentinels promoted the replica, and it followed.
    assert cluster.master_address() == ("127.0.0.1", cluster.replica.port)


def run_cli(redis_url: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "REDIS_URL": redis_url, "KEY_PREFIX": "ss"}, timeout=60, check=True)
    return done.stdout


def test_the_cli_talks_to_the_master_the_sentinels_name_before_and_after_a_failover(
    cluster: SentinelCluster,
) -> None:
    assert f"tcp_port:{cluster.primary.port}" in run_cli(cluster.url, "redis-cli", "INFO", "server")
    assert run_cli(cluster.url, "keys", "list").strip() == "no keys"

    cluster.primary.kill()
    with cluster.sentinels[0].client() as sentinel, sentinel.pubsub() as events:
        events.subscribe("+switch-master")
        if cluster.master_address()[1] == cluster.primary.port:  # not switched before we listened
            for message in events.listen():
                if message["type"] == "message":
                    break

    info = run_cli(cluster.url, "redis-cli", "INFO", "replication")
    assert "role:master" in info
    assert f"tcp_port:{cluster.replica.port}" in run_cli(cluster.url, "redis-cli", "INFO", "server")
    created = run_cli(cluster.url, "keys", "create", "after-failover")
    assert "after-failover" in created
    assert "after-failover" in run_cli(cluster.url, "keys", "list")
