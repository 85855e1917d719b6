"""Hostile HTTP clients against the Procfile's own `web:` process (service/http_guard.py).

Under `--http httptools` alone, one 242 MB header was answered 200 and the
process kept 309 MB afterwards, and ~20,000 sockets sending a byte each filled
the descriptor limit until every request, `/health` included, was reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from service.settings import WebSettings
from tests.support.process import settings_env
from tests.support.procfile import WebProcess, procfile_web_process

MB = 1024 * 1024
WAIT_S = 30  # a safety net for what the tests wait on, never a measure


@contextlib.contextmanager
def procfile_web(settings: WebSettings, **overrides: str) -> Iterator[WebProcess]:
    with procfile_web_process(settings_env(settings, **overrides)) as web:
        yield web


def exchange(port: int, request: bytes) -> bytes:
    """Send `request` while reading the answer; everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT_S) as sock:

        def send() -> None:
            with contextlib.suppress(OSError):  # the server may close before it has read it all
                sock.sendall(request)

        sender = threading.Thread(target=send)
        sender.start()
        received = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
        sender.join()
        return received


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])


def error_code(answer: bytes) -> str:
    code: str = json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"]["code"]
    return code


def head_with(*headers: bytes) -> bytes:
    return b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(headers) + b"\r\n"


def test_heads_over_the_limits_get_431_and_the_process_keeps_serving(settings: WebSettings) -> None:
    with procfile_web(settings) as web:
        within = exchange(web.port, head_with(b"X-Fine: " + b"a" * 32_000 + b"\r\n", b"Connection: close\r\n"))
        assert status_of(within) == 200
        for size in (1 * MB, 10 * MB):
            answer = exchange(web.port, head_with(b"X-Big: " + b"a" * size + b"\r\n"))
            assert status_of(answer) == 431, size
            assert error_code(answer) == "headers_too_large"
            assert web.health() == 200
        many = exchange(web.port, head_with(*(b"X-%d: b\r\n" % n for n in range(10_000))))
        assert status_of(many) == 431
        # Under the byte limit but over the count: the count alone refuses it.
        counted = exchange(web.port, head_with(*(b"X%d: b\r\n" % n for n in range(101))))
        assert status_of(counted) == 431 and error_code(counted) == "headers_too_large"
        assert web.health() == 200


def test_parallel_50_mb_heads_leave_the_rss_bounded(settings: WebSettings) -> None:
    big = head_with(b"X-Big: " + b"a" * (50 * MB) + b"\r\n")
    with procfile_web(settings) as web:
        for _ in range(20):
            assert web.health() == 200
        baseline = web.rss_bytes()
        answers: list[bytes] = [b""] * 20

        def attack(index: int) -> None:
            answers[index] = exchange(web.port, big)

        attackers = [threading.Thread(target=attack, args=(index,)) for index in range(20)]
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join()
        assert [status_of(answer) for answer in answers] == [431] * 20
        assert web.health() == 200
        grown = web.rss_bytes() - baseline
        assert grown < 64 * MB, f"RSS grew by {grown / MB:.0f} MB"


async def trickle(port: int, closed: asyncio.Queue[bytes], started: asyncio.Event) -> None:
    """A slowloris socket: one byte of a head that never ends, then one more every second."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 1000

    async def send() -> None:
        try:
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                started.set()
                await asyncio.sleep(1)
        except OSError:
            pass  # closed by the server
        finally:
            started.set()

    sending = asyncio.create_task(send())
    try:
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(65536):
                answer += chunk
        await closed.put(answer)  # the server closed it: the test never does while it trickles
    finally:
        sending.cancel()
        writer.close()


async def slowloris(web: WebProcess, sockets: int, closing: int | None = None) -> list[bytes]:
    """`sockets` trickling heads, and `/health` must answer 200 meanwhile; what the first
    `closing` of them (default: all) read before the server closed them."""
    closed: asyncio.Queue[bytes] = asyncio.Queue()
    started = [asyncio.Event() for _ in range(sockets)]
    attack = [asyncio.create_task(trickle(web.port, closed, event)) for event in started]
    try:
        async with asyncio.timeout(WAIT_S):
            for event in started:
                await event.wait()
            async with httpx.AsyncClient(base_url=web.base_url, timeout=WAIT_S) as client:
                for _ in range(5):
                    assert (await client.get("/health", headers={"Connection": "close"})).status_code == 200
            return [await closed.get() for _ in range(sockets if closing is None else closing)]
    finally:
        for task in attack:
            task.cancel()
        await asyncio.gather(*attack, return_exceptions=True)


async def test_slowloris_heads_are_closed_by_the_header_timeout_while_health_answers(
    settings: WebSettings,
) -> None:
    with procfile_web(settings, HEADER_TIMEOUT_S="2") as web:
        answers = await slowloris(web, 300)
        # Each was answered 408 and closed by the server (it had sent part of a head).
        assert {answer.split(b"\r\n", 1)[0] for answer in answers} == {b"HTTP/1.1 408 Request Timeout"}
        assert web.health() == 200


async def test_at_the_connection_cap_slowloris_sockets_give_way_to_real_clients(settings: WebSettings) -> None:
    # A head timeout longer than the test: only eviction frees room while it runs.
    with procfile_web(settings, MAX_CONNECTIONS="32", HEADER_TIMEOUT_S="60") as web:
        # Each newcomer past the 32nd closed the oldest slow socket, without an answer.
        evicted = await slowloris(web, 200, closing=200 - 32)
        assert set(evicted) == {b""}
        assert web.health() == 200


def test_sigterm_ends_open_event_streams_at_once_and_without_an_error(settings: WebSettings) -> None:
    with procfile_web(settings) as web:
        submitted = httpx.post(web.base_url + "/jobs", timeout=WAIT_S,
                               json={"type": "scrape", "url": "http://example.com/", "delay_s": 3600})
        events = f"/jobs/{submitted.json()['id']}/events".encode()
        with socket.create_connection(("127.0.0.1", web.port), timeout=WAIT_S) as follower:
            follower.sendall(b"GET " + events + b" HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            received = follower.recv(65536)
            assert received.startswith(b"HTTP/1.1 200 ")
            os.kill(web.pid, signal.SIGTERM)  # what a PaaS sends before every restart
            while chunk := follower.recv(65536):
                received += chunk
        assert b"event: queued" in received  # what the stream had written reached the client first
        # The server closed the stream (its client reconnects with Last-Event-ID) rather than cancelling
        # it at --timeout-graceful-shutdown, which logged a traceback for every follower.
        os.waitpid(web.pid, 0)  # uvicorn ends by re-raising the SIGTERM it handled: the status says no more
        log = web.log_path.read_text(errors="replace")
        assert "Finished server process" in log, log[-3000:]  # its shutdown ran to the end
        assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]


def test_past_the_connection_cap_busy_connections_shed_503_until_they_go(settings: WebSettings) -> None:
    with procfile_web(settings, MAX_CONNECTIONS="16") as web:
        submitted = httpx.post(web.base_url + "/jobs", timeout=WAIT_S, headers={"Connection": "close"},
                               json={"type": "scrape", "url": "http://example.com/", "delay_s": 3600})
        assert submitted.status_code == 202, submitted.text
        events = f"/jobs/{submitted.json()['id']}/events".encode()
        followers = []
        try:
            for _ in range(16):  # followers of a job that stays put: busy until they leave
                follower = socket.create_connection(("127.0.0.1", web.port), timeout=WAIT_S)
                followers.append(follower)
                follower.sendall(b"GET " + events + b" HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
                assert follower.recv(65536).startswith(b"HTTP/1.1 200 "), "a follower was not served"
            shed = exchange(web.port, head_with())
            assert status_of(shed) == 503 and error_code(shed) == "too_many_connections"
            assert b"\r\nretry-after: 1\r\n" in shed.lower()
        finally:
            for follower in followers:
                follower.close()
        for _ in range(600):  # the followers' connections close on the server's side soon after
            if web.health() == 200:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("/health did not answer 200 once the followers had gone")
