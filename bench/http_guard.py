"""Hostile clients against one web process: memory after huge heads, /health under a slowloris.

    .venv/bin/python bench/http_guard.py [--slow-sockets 2000] [--unguarded]

Runs the Procfile's `web:` line (`--unguarded`: with `--http httptools` instead
of the guarded protocol, to see what it prevents). Sends 20 parallel requests
with a 50 MB header and prints the web process's RSS before and after; then
opens `--slow-sockets` connections that trickle one byte of a head a second
and, meanwhile, times `/health` on fresh connections, and notes how long the
server took to close each slow socket. Prints figures only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench._harness import (
    ROOT,
    _env,
    _raise_child_fd_limit,
    free_port,
    machine,
    percentile,
    raise_fd_limit,
    redis_server,
    rss_bytes,
)

MB = 1024 * 1024
GUARDED = "--http service.http_guard:GuardedHttpToolsProtocol"


@contextlib.contextmanager
def procfile_web(redis_url: str, guarded: bool) -> Iterator[tuple[str, int]]:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    port = free_port()
    command = line.partition(":")[2].strip().replace("$PORT", str(port))
    if not guarded:
        assert GUARDED in command, "the Procfile no longer names the guard this bench swaps out"
        command = command.replace(GUARDED, "--http httptools")
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**_env(redis_url, LOG_LEVEL="ERROR"), "PATH": path}
    process = subprocess.Popen(["sh", "-c", "exec " + command + " --log-level error --no-access-log"], cwd=ROOT,
                               env=env, preexec_fn=_raise_child_fd_limit)
    base_url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            with contextlib.suppress(httpx.TransportError):
                httpx.get(base_url + "/health", timeout=2)
                break
            time.sleep(0.05)
        print(f"  {shlex.split(command)[0]} …, {'guarded' if guarded else 'unguarded: --http httptools'}")
        yield base_url, process.pid
    finally:
        process.terminate()
        process.wait(10)


def big_head_attempt(port: int, head: bytes) -> bytes:
    """The status line answered to `head`, sent whole unless the server closes first."""
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sender = threading.Thread(target=_send, args=(sock, head))
        sender.start()
        answer = b""
        with contextlib.suppress(OSError):
            while len(answer) < 64 and (chunk := sock.recv(65536)):
                answer += chunk
        sender.join()
        return answer.split(b"\r\n", 1)[0]


def _send(sock: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)


def huge_heads(port: int, pid: int) -> None:
    for _ in range(20):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)
    before = rss_bytes(pid)
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (50 * MB) + b"\r\n\r\n"
    answers: list[bytes] = [b""] * 20
    threads = [threading.Thread(target=lambda i=i: answers.__setitem__(i, big_head_attempt(port, head)))
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1)  # let the closed connections go before reading the RSS
    after = rss_bytes(pid)
    statuses = sorted({answer.decode(errors="replace") for answer in answers})
    print(f"  20 parallel 50 MB heads: answered {statuses}; RSS {before / MB:.0f} MB -> {after / MB:.0f} MB")


async def slowloris(base_url: str, port: int, sockets: int) -> None:
    closed_after: list[float] = []
    writers = []

    async def trickle() -> None:
        opened = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writers.append(writer)

        async def send() -> None:
            with contextlib.suppress(OSError):
                for byte in b"GET /health HTTP/1.1\r\nX-Slow: " + b"a" * 120:
                    writer.write(bytes([byte]))
                    await writer.drain()
                    await asyncio.sleep(1)

        sending = asyncio.create_task(send())
        with contextlib.suppress(OSError):
            while await reader.read(65536):
                pass
        closed_after.append(time.monotonic() - opened)
        sending.cancel()

    attack = [asyncio.create_task(trickle()) for _ in range(sockets)]
    await asyncio.sleep(2)
    latencies, failures = [], 0
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        for _ in range(50):
            start = time.perf_counter()
            try:
                response = await client.get("/health", headers={"Connection": "close"})
                latencies.append((time.perf_counter() - start) * 1000)
                failures += response.status_code != 200
            except httpx.HTTPError:
                failures += 1
            await asyncio.sleep(0.1)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(30):
            await asyncio.gather(*attack)
    for task in attack:
        task.cancel()
    for writer in writers:
        writer.close()
    print(f"  {sockets} slowloris sockets: /health p50 {percentile(latencies, 50):.1f} ms, "
          f"max {max(latencies, default=float('nan')):.1f} ms, {failures} of 50 failed; "
          f"{len(closed_after)} closed by the server, after p50 {percentile(closed_after, 50):.1f} s / "
          f"max {max(closed_after, default=float('nan')):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--slow-sockets", type=int, default=2000)
    parser.add_argument("--unguarded", action="store_true")
    args = parser.parse_args()
    raise_fd_limit()
    print(f"bench/http_guard.py on {machine()}")
    with redis_server() as redis_url, procfile_web(redis_url, guarded=not args.unguarded) as (base_url, pid):
        port = int(base_url.rsplit(":", 1)[1])
        huge_heads(port, pid)
        asyncio.run(slowloris(base_url, port, args.slow_sockets))


if __name__ == "__main__":
    main()
