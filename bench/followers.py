"""SSE fan-out of one web process: delivery latency, attach time, Redis connections, memory.

    .venv/bin/python bench/followers.py [--followers 100,1000,10000] [--events 30]

Starts its own redis-server and one uvicorn web process (uvloop + httptools, as
the Procfile runs it), creates one job stream, attaches N followers with a lean
asyncio client (no SSE library: the load generator shares the 2 cores), then
publishes events straight into the stream. Latency is publish → follower, from
a nanosecond stamp inside each event's data. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop
from redis.asyncio import Redis

from bench._harness import machine, percentile, raise_fd_limit, redis_server, rss_bytes, web_process
from jobs.store.records import iso_now
from streams.keys import Keyspace
from streams.publish import PendingEvent, StreamLimits, append_event, create_stream

MARK = b'"bench_ns":'
KEYS = Keyspace("ss")
LIMITS = StreamLimits(maxlen=10_000, ttl_s=3600)


class LeanFollower(asyncio.Protocol):
    """Reads an SSE response and notes when each stamped event arrives."""

    def __init__(self, request: bytes, attached: asyncio.Event, counter: list[int], expected: int,
                 latencies: list[float]) -> None:
        self.request = request
        self.attached = attached
        self.counter = counter
        self.expected = expected
        self.latencies = latencies
        self.tail = b""
        self.seen_queued = False
        self.first_line = b""
        self.done = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        chunk = self.tail + data
        if not self.first_line:
            self.first_line = data.split(b"\r\n", 1)[0]
        if not self.seen_queued and b"event: queued" in chunk:
            self.seen_queued = True
            self.counter[0] += 1
            if self.counter[0] == self.expected:
                self.attached.set()
        start = 0
        while (at := chunk.find(MARK, start)) != -1:
            end = at + len(MARK)
            digits_end = end
            while digits_end < len(chunk) and 48 <= chunk[digits_end] <= 57:
                digits_end += 1
            if digits_end == len(chunk):
                break  # stamp cut by the chunk boundary: finish it with the next chunk
            self.latencies.append((now - int(chunk[end:digits_end])) / 1e6)
            start = digits_end
        self.tail = chunk[max(start, len(chunk) - 64):]
        if b"event: completed" in chunk and not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def web_connections(redis: Redis) -> int:
    clients = await redis.client_list()
    return sum(1 for c in clients if c.get("name") != "bench")


async def run(base_url: str, web_pid: int, redis_url: str, followers: int, events: int) -> dict[str, float]:
    redis = Redis.from_url(redis_url, client_name="bench")
    job_id = uuid.uuid4().hex
    state = {"id": job_id, "type": "scrape", "status": "running", "created_at": iso_now(), "owner": "public"}
    await create_stream(redis, KEYS.events(job_id), KEYS.record(job_id), PendingEvent.make("queued", {}, state),
                        limits=LIMITS)
    host, port = base_url.removeprefix("http://").split(":")
    request = (f"GET /jobs/{job_id}/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
               ).encode()
    loop = asyncio.get_running_loop()
    attached = asyncio.Event()
    counter = [0]
    latencies: list[float] = []
    rss_before = rss_bytes(web_pid)
    protocols: list[LeanFollower] = []
    transports = []
    started = time.perf_counter()
    for batch_start in range(0, followers, 500):
        batch = []
        for _ in range(batch_start, min(followers, batch_start + 500)):
            proto = LeanFollower(request, attached, counter, followers, latencies)
            protocols.append(proto)
            batch.append(loop.create_connection(lambda p=proto: p, host, int(port)))  # type: ignore[misc]
        for transport, _ in await asyncio.gather(*batch):
            transports.append(transport)
    try:
        await asyncio.wait_for(attached.wait(), 60)
    except TimeoutError:
        statuses: dict[bytes, int] = {}
        for proto in protocols:
            key = proto.first_line
            statuses[key] = statuses.get(key, 0) + 1
        raise SystemExit(f"only {counter[0]} of {followers} attached; first lines: {statuses}") from None
    attach_s = time.perf_counter() - started
    await asyncio.sleep(0.5)
    rss_after = rss_bytes(web_pid)
    connections = await web_connections(redis)

    interval = max(0.01, followers / 20_000)  # let each event reach everyone before the next
    for i in range(events):
        await append_event(redis, KEYS.events(job_id), KEYS.record(job_id), "progress",
                           {"phase": "fetch", "percent": i, "message": "bench", "bench_ns": time.time_ns()},
                           limits=LIMITS)
        await asyncio.sleep(interval)
    await append_event(redis, KEYS.events(job_id), KEYS.record(job_id), "completed",
                       {"summary": {}, "result_url": ""}, limits=LIMITS)
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), 120)
    for transport in transports:
        transport.close()
    await redis.aclose()
    return {
        "followers": followers,
        "attach_s": attach_s,
        "p50": percentile(latencies, 50),
        "p99": percentile(latencies, 99),
        "max": max(latencies) if latencies else float("nan"),
        "delivered": len(latencies) / (followers * events),
        "redis_conns": connections,
        "kib_per_follower": (rss_after - rss_before) / followers / 1024,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", default="100,1000,10000")
    parser.add_argument("--events", type=int, default=30)
    args = parser.parse_args()
    raise_fd_limit()
    print(f"machine: {machine()}")
    print(f"{'followers':>9} {'attach s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'delivered':>9} "
          f"{'redis conns':>11} {'KiB/follower':>12}")
    for n in (int(x) for x in args.followers.split(",")):
        # MAX_CONNECTIONS (4,096 by default) would shed the rest with 503: room for them all.
        with redis_server() as redis_url, web_process(redis_url, MAX_CONNECTIONS=str(n + 64)) as (base_url, process):
            row = await run(base_url, process.pid, redis_url, n, args.events)
        print(f"{row['followers']:>9} {row['attach_s']:>9.2f} {row['p50']:>8.1f} {row['p99']:>8.1f} "
              f"{row['max']:>8.1f} {row['delivered']:>9.1%} {row['redis_conns']:>11} "
              f"{row['kib_per_follower']:>12.1f}", flush=True)


if __name__ == "__main__":
    uvloop.run(main())
