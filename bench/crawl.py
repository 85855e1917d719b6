"""Crawl throughput: one crawl job over a generated loopback shop, extracting product, links and markdown.

    .venv/bin/python bench/crawl.py [--pages 2000] [--concurrency 32] [--workers 1]
    .venv/bin/python bench/crawl.py --compare-scrapy [--rounds 1]

Starts the generated site (bench/crawl_site.py, its own process), then per run a
fresh redis-server, the web app and worker processes, submits one crawl with
`formats: [product, links, markdown]` and reports pages per second from
`started` to `completed`, the CPU time a page of each of our processes
(worker processes, their extract pools, the web process, Redis: on a shared
machine the figure that moves least), and which worker took how many pages.
`--compare-scrapy` runs ours with one worker process, ours with two, and Scrapy
(bench/crawl_scrapy.py, with its CPU time a page) on the same site, `--rounds`
times in turn, and prints each run, the best of each, and the ratios of the
bests. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import (
    ROOT,
    _env,
    cpu_seconds,
    free_port,
    machine,
    redis_server,
    wait_for_port,
    web_process,
    worker_processes,
)
from bench.lean_http import LeanConnection
from bench.pickup import KEYS, wait_for_workers

SCRAPY = Path(__file__).resolve().parent / "crawl_scrapy.py"
_SCRAPY_RATE = re.compile(r"= ([\d,]+) pages/s")


@contextlib.contextmanager
def shop(pages: int) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.crawl_site:app", "--host", "127.0.0.1", "--port", str(port),
         "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
         "--lifespan", "off"],
        cwd=ROOT, env={**_env("redis://unused"), "BENCH_PAGES": str(pages)},
    )
    try:
        wait_for_port(port, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


def cpu_below_s(pid: int) -> float:
    """CPU seconds (user + system) of every process below `pid`: a worker's extract pool."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parent = int(stat.read_text().rpartition(")")[2].split()[1])
            children.setdefault(parent, []).append(int(stat.parent.name))
    total, todo = 0.0, list(children.get(pid, ()))
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += cpu_seconds(current)
        todo.extend(children.get(current, ()))
    return total


@dataclass
class CrawlRun:
    outcome: str
    pages: int
    elapsed_s: float
    summary: object
    by_worker: Counter[str]
    cpu_ms: dict[str, float]  # CPU per page of each process of ours, while the crawl ran

    @property
    def rate(self) -> float:
        return self.pages / self.elapsed_s


async def crawl_once(site: str, pages: int, workers: int, formats: list[str], **env: str) -> CrawlRun:
    """One crawl of the whole site on a fresh Redis, web process and `workers` worker processes."""
    with redis_server() as redis_url, web_process(redis_url) as (base_url, web), \
            worker_processes(redis_url, workers, **env) as worker_list:
        conn = await LeanConnection.open(base_url)
        await wait_for_workers(conn, workers)
        redis = Redis.from_url(redis_url)
        redis_pid = int((await redis.info("server"))["process_id"])
        worker_pids = [worker.pid for worker in worker_list]

        def cpu_now() -> dict[str, float]:
            return {"worker": sum(map(cpu_seconds, worker_pids)),
                    "extract pool": sum(map(cpu_below_s, worker_pids)),
                    "web": cpu_seconds(web.pid), "redis": cpu_seconds(redis_pid)}

        cpu_before = cpu_now()
        body = orjson.dumps({"type": "crawl", "url": f"{site}/", "limit": pages + 1, "max_depth": 100,
                             "formats": formats})
        status, answer = await conn.request("POST", "/jobs", body)
        assert status == 202, answer
        job_id = orjson.loads(answer)["id"]
        key, last, started, ended, count = KEYS.events(job_id), "0-0", 0.0, 0.0, 0
        by_worker: Counter[str] = Counter()
        outcome, summary = "?", None
        while not ended:
            for _key, entries in await redis.xread({key: last}, block=120_000) or ():
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    kind = fields[b"type"]
                    if kind == b"started":
                        started = started or time.perf_counter()
                    elif kind == b"page":
                        count += 1
                        if b'"worker"' in fields[b"data"]:
                            by_worker[orjson.loads(fields[b"data"])["worker"]] += 1
                    elif kind in (b"completed", b"failed", b"cancelled"):
                        ended = time.perf_counter()
                        outcome = kind.decode()
                        summary = orjson.loads(fields[b"data"]).get("summary")
        cpu_ms = {name: (seconds - cpu_before[name]) * 1000 / max(count, 1) for name, seconds in cpu_now().items()}
        await redis.aclose()
        await conn.close()
    return CrawlRun(outcome, count, ended - started, summary, by_worker, cpu_ms)


def scrapy_rate(site: str, pages: int) -> tuple[float | None, str]:
    """Scrapy's pages/s on the site (None if it printed none), and the line it printed."""
    run = subprocess.run([sys.executable, str(SCRAPY), f"{site}/", "--pages", str(pages + 1)],
                         capture_output=True, text=True, timeout=1200, check=False, cwd=ROOT)
    line = (run.stdout.strip().splitlines() or [run.stderr.strip()[-300:]])[-1]
    match = _SCRAPY_RATE.search(line)
    return (float(match.group(1).replace(",", "")) if match else None), line


def describe(run: CrawlRun) -> str:
    spread = ", ".join(f"{worker} {pages}" for worker, pages in sorted(run.by_worker.items()))
    cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in run.cpu_ms.items() if ms)
    return (f"{run.outcome}, {run.pages} pages in {run.elapsed_s:.2f} s = {run.rate:,.0f} pages/s; "
            f"ms CPU a page: {cpu}" + (f"; pages by worker: {spread}" if spread else ""))


async def compare_with_scrapy(site: str, args: argparse.Namespace, env: dict[str, str]) -> None:
    best: dict[str, float] = {}
    for round_number in range(1, args.rounds + 1):
        for workers in (1, 2):
            load = os.getloadavg()[0]
            run = await crawl_once(site, args.pages, workers, args.formats.split(","), **env)
            print(f"round {round_number}, ours, {workers} worker process{'es' if workers > 1 else ''}: "
                  f"{describe(run)} (load before: {load:.1f})", flush=True)
            if run.outcome == "completed":
                name = f"ours{workers}"
                best[name] = max(best.get(name, 0.0), run.rate)
        load = os.getloadavg()[0]
        rate, line = scrapy_rate(site, args.pages)
        print(f"round {round_number}, {line} (load before: {load:.1f})", flush=True)
        if rate is not None:
            best["scrapy"] = max(best.get("scrapy", 0.0), rate)
    if len(best) < 3:
        raise SystemExit(f"not every crawl finished: {best}")
    ours1, ours2, scrapy = best["ours1"], best["ours2"], best["scrapy"]
    print(f"best of {args.rounds}: ours 1 worker {ours1:,.0f} pages/s, ours 2 workers {ours2:,.0f}, "
          f"Scrapy {scrapy:,.0f}")
    print(f"ours/Scrapy: {ours1 / scrapy:.2f}x with 1 worker, {ours2 / scrapy:.2f}x with 2 workers; "
          f"2 workers/1 worker: {ours2 / ours1:.2f}x")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--formats", default="product,links,markdown")
    parser.add_argument("--extract-processes", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (without --compare-scrapy)")
    parser.add_argument("--compare-scrapy", action="store_true")
    parser.add_argument("--rounds", type=int, default=1, help="with --compare-scrapy: runs of each, in turn")
    args = parser.parse_args()
    print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}")
    env = {"CRAWL_CONCURRENCY": str(args.concurrency), "HOST_CONCURRENCY": str(args.concurrency),
           "CRAWL_MAX_PAGES": str(args.pages + 1), "EXTRACT_PROCESSES": str(args.extract_processes)}
    with shop(args.pages) as site:
        if args.compare_scrapy:
            await compare_with_scrapy(site, args, env)
            return
        run = await crawl_once(site, args.pages, args.workers, args.formats.split(","), **env)
    print(f"crawl of {run.pages} pages ({args.formats}), {args.concurrency} at once, {args.workers} worker "
          f"process(es), EXTRACT_PROCESSES={args.extract_processes}: {describe(run)}; summary {run.summary}")


if __name__ == "__main__":
    uvloop.run(main())
