"""Crawl throughput: one crawl job over a generated loopback shop, extracting product, links and markdown.

    .venv/bin/python bench/crawl.py [--pages 2000] [--concurrency 32]

Starts redis-server, the web app, one worker and the generated site (bench/crawl_site.py,
its own process), submits one crawl with `formats: [product, links, markdown]`
and reports pages per second from `started` to `completed`. Prints figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
import uvloop
from redis.asyncio import Redis

from bench._harness import (
    ROOT,
    _env,
    free_port,
    machine,
    redis_server,
    wait_for_port,
    web_process,
    worker_processes,
)
from bench.lean_http import LeanConnection
from bench.pickup import KEYS, wait_for_workers


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
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--formats", default="product,links,markdown")
    parser.add_argument("--extract-processes", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    env = {"CRAWL_CONCURRENCY": str(args.concurrency), "HOST_CONCURRENCY": str(args.concurrency),
           "CRAWL_MAX_PAGES": str(args.pages), "EXTRACT_PROCESSES": str(args.extract_processes)}
    with redis_server() as redis_url, shop(args.pages) as site, web_process(redis_url) as (base_url, _), \
            worker_processes(redis_url, 1, **env):
        conn = await LeanConnection.open(base_url)
        await wait_for_workers(conn, 1)
        body = orjson.dumps({"type": "crawl", "url": f"{site}/", "limit": args.pages + 1, "max_depth": 100,
                             "formats": args.formats.split(",")})
        status, answer = await conn.request("POST", "/jobs", body)
        assert status == 202, answer
        job_id = orjson.loads(answer)["id"]
        redis = Redis.from_url(redis_url)
        key, last, started, ended, pages = KEYS.events(job_id), "0-0", 0.0, 0.0, 0
        while not ended:
            for _key, entries in await redis.xread({key: last}, block=60_000) or ():
                for entry_id, fields in entries:
                    last = entry_id.decode()
                    kind = fields[b"type"]
                    if kind == b"started":
                        started = time.perf_counter()
                    elif kind == b"page":
                        pages += 1
                    elif kind in (b"completed", b"failed", b"cancelled"):
                        ended = time.perf_counter()
                        outcome = kind.decode()
                        summary = orjson.loads(fields[b"data"]).get("summary")
        await redis.aclose()
        await conn.close()
    elapsed = ended - started
    print(f"crawl of {pages} pages ({args.formats}), {args.concurrency} at once, "
          f"EXTRACT_PROCESSES={args.extract_processes}: {outcome} in {elapsed:.2f} s "
          f"= {pages / elapsed:,.0f} pages/s; summary {summary}")


if __name__ == "__main__":
    uvloop.run(main())
