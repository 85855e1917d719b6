"""Followers that stop reading: are they dropped, and does anyone else notice?

    .venv/bin/python bench/stalled_followers.py [--stalled 2000] [--rate 100] [--send-timeout 10] [--waves 1]

Starts its own redis-server and one web process (as bench/_harness.py runs
it), then: a normal follower of job B (stamped events, 20/s) throughout; job A
publishing `--rate` events/s (~1 KB each); `--stalled` raw connections to A's
events that resume from its newest entry (followers that had read everything
so far) and then never read. Prints, for the phases before / while they attach
/ while attached and stalled / while this client reads what its sockets were left
with (closing) / after: the normal follower's latency (publish →
received), `/health` answers, the web process's RSS and CPU time and the host's TCP memory;
and when the server dropped the stalled followers (from its `/metrics` gauge)
and whether each of their connections was closed. `--waves N` does it all
N times in a row (phases numbered): whether what a wave leaves in RSS is
reused by the next or adds up. Asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import uvloop
from redis.asyncio import Redis

from bench._harness import cpu_seconds, machine, percentile, raise_fd_limit, redis_server, rss_bytes, web_process
from bench.followers import LeanFollower
from jobs.store.records import iso_now
from streams.keys import Keyspace
from streams.publish import PendingEvent, StreamLimits, append_event, create_stream

KEYS = Keyspace("ss")
LIMITS = StreamLimits(maxlen=10_000, ttl_s=3600)
FOLLOWERS = re.compile(rb"^scrapestream_sse_followers (\d+)", re.M)
NORMAL_RATE = 20  # stamped events/s of job B


async def stalled_follower(host: str, port: int, request: bytes) -> socket.socket:
    """A raw socket that sends the request, then reads nothing (its receive buffer fills and stays full)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, port))
    await loop.sock_sendall(sock, request)
    return sock


async def until_closed(sock: socket.socket) -> bool:
    """Read what was left until the server's EOF or reset: True if the server closed it."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(30):
            while await loop.sock_recv(sock, 1 << 16):
                pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        return False
    finally:
        sock.close()
    return True


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    health: dict[str, int] = field(default_factory=dict)
    health_ms: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    tcp_kib: list[int] = field(default_factory=list)
    cpu_s: float = 0.0  # the web process's CPU time while in this phase


def tcp_memory_kib() -> int:
    """The host's TCP buffer memory (pages in /proc/net/sockstat)."""
    for line in Path("/proc/net/sockstat").read_text().splitlines():
        if line.startswith("TCP:"):
            fields = line.split()
            return int(fields[fields.index("mem") + 1]) * 4
    return 0


async def new_job(redis: Redis) -> str:
    job_id = uuid.uuid4().hex
    state = {"id": job_id, "type": "scrape", "status": "running", "created_at": iso_now(), "owner": "public"}
    await create_stream(redis, KEYS.events(job_id), KEYS.record(job_id), PendingEvent.make("queued", {}, state),
                        limits=LIMITS)
    return job_id


async def publish_forever(redis: Redis, job_id: str, rate: float, message: str) -> None:
    next_at = time.perf_counter()
    i = 0
    while True:
        await append_event(redis, KEYS.events(job_id), KEYS.record(job_id), "progress",
                           {"phase": "fetch", "percent": i % 100, "message": message, "bench_ns": time.time_ns()},
                           limits=LIMITS)
        i += 1
        next_at += 1 / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def sample_forever(client: httpx.AsyncClient, pid: int, phase: list[Phase], gauge: list[int]) -> None:
    """Every 0.5 s: /health (its answer and time), RSS, TCP memory, the followers gauge."""
    while True:
        current = phase[0]
        started = time.perf_counter()
        try:
            response = await client.get("/health")
            answer = f"{response.status_code} redis {response.json().get('redis')}"
        except httpx.HTTPError as exc:
            answer = type(exc).__name__
        current.health_ms.append((time.perf_counter() - started) * 1000)
        current.health[answer] = current.health.get(answer, 0) + 1
        current.rss.append(rss_bytes(pid))
        current.tcp_kib.append(tcp_memory_kib())
        metrics = await client.get("/metrics")
        match = FOLLOWERS.search(metrics.content)
        gauge[0] = int(match.group(1)) if match else -1
        await asyncio.sleep(0.5)


@dataclass
class Wave:
    """One wave of stalled followers: when they connected and were dropped, and how many the server closed."""

    connected_s: float
    peak: int
    peak_at: float
    first_drop_at: float | None
    all_dropped_at: float
    closed: int


async def run(base_url: str, pid: int, redis_url: str, stalled: int, rate: float, waves: int) -> None:
    loop = asyncio.get_running_loop()
    redis = Redis.from_url(redis_url, client_name="bench")
    busy, watched = await new_job(redis), await new_job(redis)
    host, port = base_url.removeprefix("http://").split(":")

    def request(job_id: str, last_event_id: str = "") -> bytes:
        resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id else ""
        return (f"GET /jobs/{job_id}/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n{resume}\r\n"
                ).encode()

    # "closing": this client reads what its 2,000 sockets were left with (its own loop is busy then).
    # Every later wave repeats attach/stalled/closing/after, numbered: does what stays after one wave grow?
    phases = [Phase("before")]
    for number in range(1, waves + 1):
        suffix = "" if number == 1 else f" {number}"
        phases += [Phase(name + suffix) for name in ("attach", "stalled", "closing", "after")]
    phase = [phases[0]]
    gauge = [0]
    cpu_mark = [0.0]

    def enter(next_phase: Phase) -> None:
        """Switch phases: the web process's CPU time so far goes to the one that ends."""
        now = cpu_seconds(pid)
        phase[0].cpu_s += now - cpu_mark[0]
        cpu_mark[0] = now
        phase[0] = next_phase
        normal.latencies = next_phase.latencies

    async def wave(attach: Phase, stall: Phase, closing: Phase, after: Phase) -> Wave:
        enter(attach)
        started = time.perf_counter()
        sockets: list[socket.socket] = []
        # Followers that had read everything so far (they resume from the newest entry), then stop reading.
        newest = (await redis.xrevrange(KEYS.events(busy), count=1))[0][0].decode()
        for batch in range(0, stalled, 200):
            sockets += await asyncio.gather(*(stalled_follower(host, int(port), request(busy, newest))
                                              for _ in range(batch, min(stalled, batch + 200))))
        connected_s = time.perf_counter() - started
        peak, peak_at, first_drop_at = 0, 0.0, None
        while True:  # until the server holds only the normal follower again
            await asyncio.sleep(0.1)
            if gauge[0] > peak:
                peak, peak_at = gauge[0], time.perf_counter() - started
                if peak == stalled + 1:  # all attached: from here on they only stall
                    enter(stall)
            if first_drop_at is None and peak >= stalled and gauge[0] < peak:
                first_drop_at = time.perf_counter() - started
            if peak > 1 and gauge[0] == 1:
                break
        all_dropped_at = time.perf_counter() - started
        # The clients read again: every connection must end (EOF or reset) by itself.
        enter(closing)
        closed = sum(await asyncio.gather(*(until_closed(sock) for sock in sockets)))
        enter(after)
        await asyncio.sleep(10)
        return Wave(connected_s, peak, peak_at, first_drop_at, all_dropped_at, closed)

    attached = asyncio.Event()
    normal = LeanFollower(request(watched), attached, [0], 1, phases[0].latencies)
    await loop.create_connection(lambda: normal, host, int(port))
    await asyncio.wait_for(attached.wait(), 30)
    publishers = [asyncio.create_task(publish_forever(redis, watched, NORMAL_RATE, "normal")),
                  asyncio.create_task(publish_forever(redis, busy, rate, "x" * 1000))]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        sampler = asyncio.create_task(sample_forever(client, pid, phase, gauge))
        cpu_mark[0] = cpu_seconds(pid)
        await asyncio.sleep(5)
        results = [await wave(*phases[1 + 4 * index:5 + 4 * index]) for index in range(waves)]
        enter(phases[-1])  # closes the last phase's CPU time
        sampler.cancel()
    for task in publishers:
        task.cancel()
    await redis.aclose()

    print(f"stalled followers: {stalled} on a job publishing {rate:g} events/s (~1 KB each), {waves} wave(s)")
    for number, result in enumerate(results, 1):
        print(f"wave {number}: connected in {result.connected_s:.1f} s; the server's gauge peaked at {result.peak} "
              f"({result.peak_at:.1f} s); dropped by the server: first at "
              f"{result.first_drop_at or float('nan'):.1f} s, all at {result.all_dropped_at:.1f} s after the first "
              f"connect; connections closed by the server: {result.closed}/{stalled}")
    print(f"{'phase':>10} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'events':>6} {'/health answers':>28} "
          f"{'health max ms':>13} {'RSS MB (min-max)':>17} {'TCP mem MiB (max)':>17} {'web CPU s':>9}")
    for p in phases:
        health = ", ".join(f"{n}x {a}" for a, n in p.health.items())
        rss = f"{min(p.rss) / 2**20:.0f}-{max(p.rss) / 2**20:.0f}" if p.rss else "-"
        print(f"{p.name:>10} {percentile(p.latencies, 50):>7.1f} {percentile(p.latencies, 99):>7.1f} "
              f"{max(p.latencies, default=float('nan')):>7.1f} {len(p.latencies):>6} {health:>28} "
              f"{max(p.health_ms, default=float('nan')):>13.1f} {rss:>17} "
              f"{max(p.tcp_kib, default=0) / 1024:>17.1f} {p.cpu_s:>9.2f}", flush=True)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stalled", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--send-timeout", type=float, default=10)
    parser.add_argument("--waves", type=int, default=1, help="attach, stall and drop them this many times in a row")
    args = parser.parse_args()
    raise_fd_limit()
    print(f"machine: {machine()}; SSE_SEND_TIMEOUT_S={args.send_timeout:g}")
    with redis_server() as redis_url, web_process(redis_url, SSE_SEND_TIMEOUT_S=str(args.send_timeout)) as (
        base_url, process
    ):
        await run(base_url, process.pid, redis_url, args.stalled, args.rate, args.waves)


if __name__ == "__main__":
    uvloop.run(main())
