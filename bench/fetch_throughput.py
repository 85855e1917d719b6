"""How many pages per second one PageFetcher pushes, and its CPU cost per page.

    .venv/bin/python -m bench.fetch_throughput [--pages 5000] [--concurrency 64] [--hosts 4]
                                               [--backend httpx|aiohttp] [--uvloop]

A minimal keep-alive HTTP server runs in another process on 127.0.0.x (one
address per "host"), serving a 30 KB gzipped HTML page, so the numbers are the
fetcher's: client CPU per page is what limits a crawl on a small worker.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
import zlib

from jobs.fetch import AddressPolicy, FetchLimits, PageFetcher
from jobs.fetch.guarded_client import BACKENDS, Backend

PAGE = (
    b"<!doctype html><html><head><title>Bench</title></head><body>"
    + b"".join(b"<p>Paragraph %d with <a href='/x/%d'>a link</a>.</p>" % (i, i) for i in range(600))
    + b"</body></html>"
)


def _serve(sockets: list[socket.socket]) -> None:
    gz = zlib.compressobj(6, zlib.DEFLATED, 31)
    body = gz.compress(PAGE) + gz.flush()
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
    ) + body

    class Server(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.buffer = b""

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:
                _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                self.transport.write(response)  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(Server, sock=s) for s in sockets]
        await asyncio.gather(*(s.serve_forever() for s in servers))

    asyncio.run(main())


async def run(pages: int, concurrency: int, urls: list[str], backend: Backend) -> None:
    limits = FetchLimits()
    policy = AddressPolicy(allow_private=["127.0.0.0/8"])
    async with PageFetcher(limits=limits, policy=policy, backend=backend) as fetcher:
        await fetcher.fetch(urls[0])  # warm up: TLS context, imports
        queue: asyncio.Queue[str] = asyncio.Queue()
        for i in range(pages):
            queue.put_nowait(urls[i % len(urls)] + f"?page={i}")

        async def worker() -> None:
            while not queue.empty():
                page = await fetcher.fetch(queue.get_nowait())
                assert len(page.content) == len(PAGE)

        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(f"{pages} pages, concurrency {concurrency}, {len(urls)} hosts, backend {backend}, {loop} loop")
    print(f"  {pages / wall:8.0f} pages/s wall")
    print(f"  {cpu / pages * 1e6:8.0f} µs client CPU per page ({pages / cpu:.0f} pages/s per core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--backend", choices=BACKENDS, default="httpx")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop, as the worker does")
    args = parser.parse_args()

    sockets = []
    for i in range(args.hosts):
        sock = socket.socket()
        sock.bind((f"127.0.0.{10 + i}", 0))
        sock.listen(1024)
        sockets.append(sock)
    urls = [f"http://127.0.0.{10 + i}:{s.getsockname()[1]}/page" for i, s in enumerate(sockets)]
    server = multiprocessing.Process(target=_serve, args=(sockets,), daemon=True)
    server.start()
    try:
        work = run(args.pages, args.concurrency, urls, args.backend)
        if args.uvloop:
            import uvloop

            uvloop.run(work)
        else:
            asyncio.run(work)
    finally:
        server.terminate()
        server.join()
        for sock in sockets:
            sock.close()


if __name__ == "__main__":
    main()
