"""Submissions per second of one web process, against FastAPI + RQ in the same run.

    .venv/bin/python bench/submits.py [--seconds 10] [--connections 64] [--runs 3] [--only ours|baseline]

Starts redis-server, then, in turn, Scrapestream's web process and the FastAPI +
RQ app of `bench/fastapi_rq_submit.py` (both one uvicorn process on uvloop and
httptools, no worker: jobs stay queued), and drives each with wrk (`apt-get
install wrk`; C, so the load generator costs the two cores little) posting the
same scrape job over `--connections` keep-alive connections. Runs alternate
(ours, baseline, ours, …) so a drift of the shared machine's speed hits both.
Prints each run (with the CPU time the web process and Redis spent per submit,
which a busy shared machine disturbs less than the rate), the medians and their
ratios, and the load average; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench._harness import cpu_seconds, machine, redis_server, web_process

BODY = '{"type": "scrape", "url": "https://shop.example/p/42"}'
WRK_SCRIPT = f"""
wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""
SIDES = {
    "ours": {},
    "baseline": {"app": ("bench.fastapi_rq_submit:app",), "http": "httptools"},
}


def wrk(base_url: str, script: str, *, seconds: float, connections: int) -> tuple[float, str, str, int]:
    """Requests/s, p50 and p99 latency as wrk prints them, and the count of answers other than 2xx/3xx."""
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:g}s", "--latency", "-s", script,
         f"{base_url}/jobs"],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)[1]  # type: ignore[index]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)[1]  # type: ignore[index]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(bad[1]) if bad else 0


def run_side(side: str, redis_url: str, redis_pid: int, script: str, args: argparse.Namespace) -> tuple[float, float]:
    """Submits/s, and CPU µs per submit of the web process and Redis together."""
    with web_process(redis_url, **SIDES[side]) as (base_url, web):  # type: ignore[arg-type]
        wrk(base_url, script, seconds=1, connections=4)  # warm up: imports, pools, first connections
        web_before, redis_before = cpu_seconds(web.pid), cpu_seconds(redis_pid)
        rate, p50, p99, bad = wrk(base_url, script, seconds=args.seconds, connections=args.connections)
        submits = rate * args.seconds
        web_us = (cpu_seconds(web.pid) - web_before) / submits * 1e6
        redis_us = (cpu_seconds(redis_pid) - redis_before) / submits * 1e6
    print(f"  {side:8}  {rate:8,.0f} submits/s  p50 {p50:>8}  p99 {p99:>8}  non-2xx {bad}  "
          f"CPU per submit: web {web_us:4.0f} us, Redis {redis_us:3.0f} us", flush=True)
    return rate, web_us + redis_us


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(SIDES))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/submits.py needs wrk: apt-get install wrk")
    print(f"machine: {machine()}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"wrk -t 1 -c {args.connections} -d {args.seconds:g}s, POST /jobs {BODY}")
    sides = [args.only] if args.only else list(SIDES)
    rates: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script, redis_server() as redis_url:
        script.write(WRK_SCRIPT)
        script.flush()
        with redis.Redis.from_url(redis_url) as client:
            redis_pid = int(client.info("server")["process_id"])
        for run in range(args.runs):
            print(f"run {run + 1}:")
            for side in sides:
                rate, cpu_us = run_side(side, redis_url, redis_pid, script.name, args)
                rates[side].append(rate)
                cpu[side].append(cpu_us)
    medians = {side: statistics.median(values) for side, values in rates.items()}
    print("median: " + ", ".join(f"{side} {rate:,.0f}/s, {statistics.median(cpu[side]):.0f} us CPU a submit"
                                 for side, rate in medians.items()))
    if len(medians) == 2:
        print(f"ours / FastAPI+RQ: {medians['ours'] / medians['baseline']:.2f}x the submits/s "
              f"(per run: {', '.join(f'{o / b:.2f}' for o, b in zip(rates['ours'], rates['baseline'], strict=True))}); "
              f"{statistics.median(cpu['baseline']) / statistics.median(cpu['ours']):.2f}x less CPU a submit")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
