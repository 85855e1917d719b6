"""Submissions per second of one web process, with their latency.

    .venv/bin/python bench/submits.py [--seconds 10] [--connections 32]

Starts redis-server and one web process (no worker: jobs stay queued), then
keeps `--connections` keep-alive connections busy posting scrape jobs with a
lean client. Prints throughput and latency; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from bench._harness import machine, percentile, redis_server, web_process
from bench.lean_http import LeanConnection

BODY = b'{"type": "scrape", "url": "https://shop.example/p/42"}'


async def client(base_url: str, until: float, latencies: list[float], errors: list[int]) -> None:
    conn = await LeanConnection.open(base_url)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status, _ = await conn.request("POST", "/jobs", BODY)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 202:
                errors.append(status)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with redis_server() as redis_url, web_process(redis_url) as (base_url, _):
        warm: list[float] = []
        await asyncio.gather(*(client(base_url, time.perf_counter() + 1, warm, []) for _ in range(4)))
        latencies: list[float] = []
        errors: list[int] = []
        started = time.perf_counter()
        until = started + args.seconds
        await asyncio.gather(*(client(base_url, until, latencies, errors) for _ in range(args.connections)))
        elapsed = time.perf_counter() - started
    print(f"{len(latencies)} submits in {elapsed:.1f} s over {args.connections} connections: "
          f"{len(latencies) / elapsed:,.0f}/s; latency p50 {percentile(latencies, 50):.1f} ms, "
          f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms; non-202: {len(errors)}")


if __name__ == "__main__":
    uvloop.run(main())
