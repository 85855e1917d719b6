"""Followers that stop reading are found and dropped; the others never notice.

A client that sends its request and then reads nothing once kept its
connection, its kernel buffers (~750 KB each) and its place in the hub for
good: `SSE_SEND_TIMEOUT_S` ended the follow, but the response then waited
forever to send its last chunk into the full socket. Now the connection is
aborted once its socket has stayed unwritable for `SSE_SEND_TIMEOUT_S`.
Run against the Procfile's own `web:` line (uvloop, httptools).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from service.settings import WebSettings
from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event
from tests.support.process import settings_env
from tests.support.procfile import procfile_web, procfile_web_process
from tests.support.sse import read_sse

STALLED = 30
EVENTS = 300
PAYLOAD = "x" * 8_000  # 300 events of 8 KB: far more than a stalled socket's buffers hold
FOLLOWERS = re.compile(rb"^scrapestream_sse_followers (\d+)", re.M)
MB = 1024 * 1024


@pytest.fixture
def web(settings: WebSettings) -> Iterator[str]:
    env = settings_env(settings, SSE_SEND_TIMEOUT_S="1", SSE_SEND_BUFFER_BYTES="16384")
    with procfile_web(env) as base_url:
        yield base_url


@pytest.fixture
async def client(web: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=web, timeout=30) as http:
        yield http


async def followers_of_the_process(client: httpx.AsyncClient) -> int:
    response = await client.get("/metrics")
    match = FOLLOWERS.search(response.content)
    assert match is not None, response.text
    return int(match.group(1))


async def until_followers(client: httpx.AsyncClient, count: int) -> None:
    async with asyncio.timeout(60):  # a safety net, not a timing assertion
        while await followers_of_the_process(client) != count:  # noqa: ASYNC110 - another process's gauge
            await asyncio.sleep(0.05)


def stalled_follower(base_url: str, path: str, *, last_event_id: str = "") -> socket.socket:
    """A raw socket with a tiny receive buffer that sends the request and never reads."""
    host, port = httpx.URL(base_url).host, httpx.URL(base_url).port
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window stays small
    sock.connect((host, port))
    resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{resume}\r\n".encode())
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server left in the socket, up to its EOF or reset."""
    sock.settimeout(30)  # a safety net: a connection the server kept would hang here
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


async def test_stalled_followers_are_aborted_and_a_reader_of_the_same_job_gets_everything(
    web: str, client: httpx.AsyncClient, redis: Redis, settings: WebSettings
) -> None:
    submitted = await client.post("/jobs", json={"type": "scrape", "url": "http://example.com/", "delay_s": 3600})
    assert submitted.status_code == 202, submitted.text
    job: dict[str, Any] = submitted.json()
    keys, limits = Keyspace(settings.key_prefix), StreamLimits(maxlen=10_000, ttl_s=3600)
    path = f"/jobs/{job['id']}/events"

    reader = asyncio.create_task(collect(client, path))
    stalled = [stalled_follower(web, path) for _ in range(STALLED)]
    try:
        await until_followers(client, STALLED + 1)
        for i in range(EVENTS):
            await append_event(redis, keys.events(job["id"]), keys.record(job["id"]), "progress",
                               {"phase": "fetch", "percent": i % 100, "message": PAYLOAD}, limits=limits)
        # Each stalled socket fills up, its next write waits, and a second later it is aborted.
        await until_followers(client, 1)
        await append_event(redis, keys.events(job["id"]), keys.record(job["id"]), "completed",
                           {"summary": {}, "result_url": ""}, limits=limits)
        received = await asyncio.wait_for(reader, 60)

        stored = [entry_id.decode() for entry_id, _ in await redis.xrange(keys.events(job["id"]))]
        assert [event["id"] for event in received] == stored
        assert len(stored) == EVENTS + 2 and received[-1]["type"] == "completed"
        for sock in stalled:
            leftover = await asyncio.to_thread(read_until_closed, sock)
            # What it got before it stalled is a fraction of what was published.
            assert len(leftover) < EVENTS * len(PAYLOAD) // 4
        assert await followers_of_the_process(client) == 0
        assert (await client.get("/health")).json()["redis"] == "ok"
    finally:
        reader.cancel()
        for sock in stalled:
            sock.close()


async def collect(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    return [event async for event in read_sse(client, path)]


WAVE = 300  # stalled followers per wave
TRIMS = re.compile(rb"^scrapestream_heap_trims_total (\d+)", re.M)


async def heap_trims(client: httpx.AsyncClient) -> int:
    match = TRIMS.search((await client.get("/metrics")).content)
    assert match is not None
    return int(float(match.group(1)))


async def test_waves_of_stalled_followers_reuse_the_memory_the_first_left(settings: WebSettings, redis: Redis) -> None:
    """Three waves of 300 followers that stall: RSS after each wave stays where the first left it.

    CPython keeps some of its small-object arenas after a burst of dropped connections
    (README, Performance: a few objects still alive pin each), so RSS does not fall all
    the way back; what stays must be reused by the next burst, not added to. Each wave
    is measured once glibc's freed heap was handed back (`scrapestream_heap_trims_total`).
    """
    env = settings_env(settings, SSE_SEND_TIMEOUT_S="3", SSE_SEND_BUFFER_BYTES="16384")
    keys, limits = Keyspace(settings.key_prefix), StreamLimits(maxlen=10_000, ttl_s=3600)
    with procfile_web_process(env) as web:
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
            submitted = await client.post("/jobs", json={"type": "scrape", "url": "http://example.com/",
                                                         "delay_s": 3600})
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]
            path = f"/jobs/{job_id}/events"
            for _ in range(50):
                assert (await client.get("/health")).status_code == 200
            baseline = web.rss_bytes()
            peaks: list[int] = []
            afters: list[int] = []
            for _ in range(3):
                trims = await heap_trims(client)
                newest = (await redis.xrevrange(keys.events(job_id), count=1))[0][0].decode()
                stalled = [stalled_follower(web.base_url, path, last_event_id=newest) for _ in range(WAVE)]
                try:
                    await until_followers(client, WAVE)
                    for i in range(100):  # 800 KB each of them is sent: far more than their sockets hold
                        await append_event(redis, keys.events(job_id), keys.record(job_id), "progress",
                                           {"phase": "fetch", "percent": i, "message": PAYLOAD}, limits=limits)
                    peak = web.rss_bytes()
                    async with asyncio.timeout(60):  # a safety net, not a timing assertion
                        while await followers_of_the_process(client) > 0:
                            peak = max(peak, web.rss_bytes())
                            await asyncio.sleep(0.05)
                    for sock in stalled:  # every connection was closed by the server
                        await asyncio.to_thread(read_until_closed, sock)
                finally:
                    for sock in stalled:
                        sock.close()
                async with asyncio.timeout(60):
                    while await heap_trims(client) == trims:  # noqa: ASYNC110 - another process's counter
                        await asyncio.sleep(0.05)
                assert web.health() == 200
                peaks.append(peak)
                afters.append(web.rss_bytes())
            grown = peaks[0] - baseline
            print(f"RSS MB: baseline {baseline / MB:.0f}, peaks {[round(p / MB) for p in peaks]}, "
                  f"after {[round(a / MB) for a in afters]}")
            assert grown > 4 * MB, f"{WAVE} stalled followers grew RSS by only {grown / MB:.1f} MB"
            # Left unreused, each wave would add about `grown` again (its tail of the stream stays under 1 MiB).
            for peak, after in zip(peaks[1:], afters[1:], strict=True):
                assert after < afters[0] + grown // 2, f"a later wave added {(after - afters[0]) / MB:.0f} MB"
                assert peak < peaks[0] + grown // 2


@pytest.mark.parametrize("body", [b"", b"hello"], ids=["no body", "a GET with a body"])
async def test_followers_that_hang_up_are_let_go_though_nothing_is_written_to_them(
    settings: WebSettings, body: bytes
) -> None:
    """No keep-alive comes for an hour and the job publishes nothing: only the server noticing the
    closed connections lets them go (the Procfile's protocol tells the stream; with a body, a task
    that reads it does)."""
    env = settings_env(settings, SSE_KEEPALIVE_S="3600")
    with procfile_web_process(env) as web:
        async with httpx.AsyncClient(base_url=web.base_url, timeout=30) as client:
            submitted = await client.post("/jobs", json={"type": "scrape", "url": "http://example.com/",
                                                         "delay_s": 3600})
            assert submitted.status_code == 202, submitted.text
            path = f"/jobs/{submitted.json()['id']}/events"
            head = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            followers = [socket.create_connection(("127.0.0.1", web.port)) for _ in range(50)]
            for sock in followers:
                sock.sendall(head)
            try:
                await until_followers(client, 50)
                for sock in followers[:20]:
                    sock.close()
                await until_followers(client, 30)
                # The rest still follow: the job's next event reaches them.
                assert (await client.delete(f"/jobs/{submitted.json()['id']}")).status_code in (200, 202)
                for sock in followers[20:]:
                    received = await asyncio.to_thread(read_until_closed, sock)
                    assert b"event: cancelled" in received
                await until_followers(client, 0)
            finally:
                for sock in followers:
                    sock.close()
