"""The operator's commands as a user runs them: `worker --burst/--concurrency`, `redis-cli`, `dev` (`make run`).

Every command runs as a child process against real ones: redis-server, uvicorn, arq workers.
`dev` runs in a temporary directory (it keeps its Redis under `.data/` of its cwd), with a
state directory of its own (XDG_STATE_HOME), never the user's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from jobs.settings import Settings
from tests.support.gated_site import gated_site
from tests.support.process import settings_env
from tests.support.redis_server import RedisServer, free_port
from tests.support.sse import read_sse
from tests.support.stack import Stack, running_stack

CLI = (sys.executable, "-m", "service.cli")
# What a shell that never configured Redis has: `make run`'s Redis is found, or nothing is.
UNSET = ("REDIS_URL", "REDIS_SENTINELS", "REDIS_SENTINEL_MASTER", "PORT", "KEY_PREFIX")


def shell_env(state_home: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in UNSET}
    return {**env, "XDG_STATE_HOME": str(state_home), **extra}


# --- worker --------------------------------------------------------------------------------------


async def run_worker_to_its_end(settings: Settings, *args: str) -> tuple[int, str]:
    worker = await asyncio.create_subprocess_exec(
        *CLI, "worker", *args, env={**os.environ, **settings_env(settings), "LOG_LEVEL": "INFO"},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(90):  # a safety net: the worker is expected to end by itself
            _, log = await worker.communicate()
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    assert worker.returncode is not None
    return worker.returncode, log.decode(errors="replace")


async def test_worker_burst_runs_every_queued_job_then_exits_0(idle_stack: Stack, site: str) -> None:
    jobs = [await idle_stack.submit({"type": "scrape", "url": f"{site}/plain?{n}"}) for n in range(3)]

    status, log = await run_worker_to_its_end(idle_stack.settings, "--burst", "--concurrency", "2")

    assert status == 0, log
    assert "up to 2 jobs at once, of kinds scrape, crawl, batch, ask; burst: exits once its queues are empty" in log
    for job in jobs:
        record = (await idle_stack.client.get(f"/jobs/{job['id']}")).json()
        assert record["status"] == "completed", record
    queue = (await idle_stack.client.get("/queue")).json()
    assert queue["queued"]["total"] == 0 and queue["running"] == 0


async def test_worker_burst_of_some_kinds_runs_theirs_and_exits_0_leaving_the_others_queued(
    idle_stack: Stack, site: str
) -> None:
    """Its queues are empty once its kinds' jobs are done: a scrape waiting, here or in the shared queue an
    older version used, is not its to wait for."""
    scrape = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
    batch = await idle_stack.submit({"type": "batch", "urls": [f"{site}/plain"]})
    redis, keys = idle_stack.state.redis, idle_stack.state.keys
    async with redis.pipeline(transaction=True) as pipe:  # the scrape where the one-queue version put it
        pipe.zrem(keys.kind_queue("scrape"), scrape["id"])
        pipe.zadd(keys.arq_queue(), {scrape["id"]: 1})
        await pipe.execute()

    status, log = await run_worker_to_its_end(idle_stack.settings, "--burst", "--kinds", "batch")

    assert status == 0, log
    assert (await idle_stack.client.get(f"/jobs/{batch['id']}")).json()["status"] == "completed"
    assert (await idle_stack.client.get(f"/jobs/{scrape['id']}")).json()["status"] == "queued"


async def test_worker_burst_on_an_empty_queue_exits_0_at_once(settings: Settings) -> None:
    status, log = await run_worker_to_its_end(settings, "--burst")
    assert status == 0, log


def test_worker_concurrency_must_be_a_number_of_slots() -> None:
    done = subprocess.run([*CLI, "worker", "--concurrency", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--concurrency: between 1 and 10000 jobs at once" in done.stderr


async def wait_for_fetch(stack: Stack, job_id: str) -> None:
    """Until the job says it fetches: it is then held by the gated page, in a slot of its worker."""
    async for event in read_sse(stack.client, f"/jobs/{job_id}/events"):
        if event["type"] == "progress" and event["data"]["phase"] == "fetch":
            return
    raise AssertionError(f"job {job_id} ended before it fetched")


async def test_worker_concurrency_is_how_many_jobs_it_runs_at_once(settings: Settings) -> None:
    with gated_site() as (url, gate):
        async with running_stack(settings, workers=0) as stack:
            # All four are queued before the worker starts: its first look claims every free slot at once,
            # so a worker of the default 32 slots would run all four together.
            first = [await stack.submit({"type": "scrape", "url": f"{url}?{n}", "priority": 9 - n}) for n in (0, 1)]
            later = [await stack.submit({"type": "scrape", "url": f"{url}?{n}", "priority": 2}) for n in (2, 3)]
            worker = await asyncio.create_subprocess_exec(
                *CLI, "worker", "--concurrency", "2", env={**os.environ, **settings_env(settings)},
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            )
            try:
                async with asyncio.timeout(60):  # a safety net, not a measure
                    for job in first:
                        await wait_for_fetch(stack, job["id"])
                queue = (await stack.client.get("/queue")).json()
                assert queue["running"] == 2
                assert queue["queued"]["total"] == 2 and queue["queued"]["by_priority"]["2"] == 2
                [card] = (await stack.client.get("/workers")).json()["workers"]
                assert sorted(job["id"] for job in card["jobs"]) == sorted(job["id"] for job in first)

                gate.open()
                for job in first + later:
                    assert (await stack.wait_terminal(job["id"]))[-1]["type"] == "completed"
            finally:
                worker.send_signal(signal.SIGTERM)
                async with asyncio.timeout(60):
                    assert await worker.wait() == 0


# --- dev (`make run`) ------------------------------------------------------------------------------


@dataclass
class DevRun:
    """`scrapestream dev` in `cwd`, its output (stdout and stderr together) kept line by line."""

    cwd: Path
    env: dict[str, str]
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    _new_line: threading.Condition = field(default_factory=threading.Condition)

    def start(self) -> DevRun:
        # Its own session: cleanup can end the web, the worker and the Redis it started, by that group's id.
        self.process = subprocess.Popen([*CLI, "dev"], cwd=self.cwd, env=self.env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                with self._new_line:
                    self.lines.append(line.rstrip("\n"))
                    self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()  # the end: a waiter sees `exited`

    def wait_for_line(self, text: str, timeout_s: float = 60) -> str:
        """The first line containing `text` (the timeout is a safety net, not an assertion on time)."""
        with self._new_line:
            found = self._new_line.wait_for(lambda: any(text in line for line in self.lines) or self.exited,
                                            timeout_s)
            for line in self.lines:
                if text in line:
                    return line
        raise AssertionError(f"dev never printed {text!r}:\n" + "\n".join(self.lines) if found else "(timeout)")

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def wait_until_serving(self, port: int) -> None:
        for _ in range(1200):  # 60 s at most: a safety net
            assert not self.exited, "\n".join(self.lines)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            threading.Event().wait(0.05)
        raise AssertionError("dev did not serve /health:\n" + "\n".join(self.lines))

    def stop(self) -> int:
        """Ctrl-C, as a user stops `make run`; its exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            finally:
                self.kill_group()
        return self.process.returncode

    def kill_group(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # what is left of this run's own session
        self.process.wait()


@dataclass
class RunningDev:
    run: DevRun
    port: int
    state_home: Path

    @property
    def redis_url(self) -> str:
        return (self.run.cwd / ".data" / "redis-url").read_text().strip()

    @property
    def state_file(self) -> Path:
        return self.state_home / "scrapestream" / "redis-url"


def start_dev(home: Path, env_file: str = "", **extra: str) -> tuple[DevRun, int]:
    cwd = home / "checkout"
    cwd.mkdir(parents=True)
    port = free_port()
    (cwd / ".env").write_text(f"PORT={port}\n{env_file}")
    env = shell_env(home / "state", EMBEDDED_REDIS_PORT=str(free_port()), **extra)
    return DevRun(cwd, env).start(), port


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDev]:
    home = tmp_path_factory.mktemp("dev")
    run, port = start_dev(home)
    try:
        run.wait_until_serving(port)
        yield RunningDev(run, port, home / "state")
    finally:
        run.stop()


def test_dev_serves_the_web_app_on_the_port_that_env_file_names(dev: RunningDev) -> None:
    assert httpx.get(f"http://127.0.0.1:{dev.port}/health", timeout=10).status_code == 200
    assert dev.run.wait_for_line("Dashboard") .split()[-1] == f"http://127.0.0.1:{dev.port}/"


def test_redis_cli_from_another_directory_finds_make_runs_redis_and_passes_every_argument(
    dev: RunningDev, tmp_path: Path
) -> None:
    with redis.Redis.from_url(dev.redis_url) as client:
        client.set("ss:job:{cli}", 'a "quoted" word')
        client.set("ss:cli-probe", "1")
        client.set("elsewhere", "1")
    elsewhere = tmp_path / "some" / "other" / "directory"
    elsewhere.mkdir(parents=True)

    def redis_cli(*args: str) -> str:
        done = subprocess.run([*CLI, "redis-cli", *args], cwd=elsewhere, env=shell_env(dev.state_home),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        return done.stdout

    scanned = redis_cli("--scan", "--pattern", "ss:*").split()
    assert {"ss:cli-probe", "ss:job:{cli}"} <= set(scanned)
    assert all(key.startswith("ss:") for key in scanned)  # the pattern arrived whole: not `elsewhere`
    assert redis_cli("--raw", "GET", "ss:job:{cli}") == 'a "quoted" word\n'
    # Into a pipe redis-cli prints raw by default; --no-raw (which it alone knows) quotes.
    assert redis_cli("--no-raw", "GET", "ss:job:{cli}") == '"a \\"quoted\\" word"\n'
    assert redis_cli("-n", "1", "SET", "in-db-1", "yes").strip() == "OK"
    with redis.Redis.from_url(dev.redis_url.removesuffix("/0") + "/1") as client:
        assert client.get("in-db-1") == b"yes"
    (elsewhere / "probe.lua").write_text("return {KEYS[1], ARGV[1]}")
    assert redis_cli("--eval", str(elsewhere / "probe.lua"), "ss:cli-probe", ",", "-h").split() == ["ss:cli-probe",
                                                                                                     "-h"]
    keys = subprocess.run([*CLI, "keys", "list"], cwd=elsewhere, env=shell_env(dev.state_home),
                          capture_output=True, text=True, timeout=60)
    assert (keys.returncode, keys.stdout) == (0, "no keys\n"), keys.stderr


def test_a_second_dev_in_the_same_directory_refuses_and_leaves_the_first_alone(dev: RunningDev) -> None:
    url, aof = dev.redis_url, sorted(p.name for p in (dev.run.cwd / ".data" / "redis").rglob("*"))

    second = subprocess.run([*CLI, "dev"], cwd=dev.run.cwd, env=dev.run.env, capture_output=True, text=True,
                            timeout=60)

    assert second.returncode == 1
    assert "another `make run` is already running" in second.stderr
    assert f"pid {dev.run.process.pid}" in second.stderr  # type: ignore[union-attr]
    assert "Traceback" not in second.stderr
    assert dev.redis_url == url and dev.state_file.read_text().strip() == url
    assert sorted(p.name for p in (dev.run.cwd / ".data" / "redis").rglob("*")) == aof
    with redis.Redis.from_url(url) as client:
        assert client.ping()
    assert httpx.get(f"http://127.0.0.1:{dev.port}/health", timeout=10).status_code == 200


def test_stopping_dev_removes_its_own_notes_of_redis_and_no_other_runs(tmp_path: Path) -> None:
    run, port = start_dev(tmp_path)
    try:
        run.wait_until_serving(port)
        local = run.cwd / ".data" / "redis-url"
        state = tmp_path / "state" / "scrapestream" / "redis-url"
        assert state.read_text() == local.read_text()
        state.write_text("redis://127.0.0.1:1/0\n")  # since then, another `make run` elsewhere noted its own
        assert run.stop() == 130  # Ctrl-C's status, as a shell reports an interrupted command
    finally:
        if not run.exited:
            run.kill_group()
    assert not local.exists()
    assert state.read_text() == "redis://127.0.0.1:1/0\n"
    # With no `make run` left, redis-cli says why it cannot find one (and what it tries instead).
    said = subprocess.run([*CLI, "redis-cli", "PING"], cwd=tmp_path, env=shell_env(tmp_path / "state"),
                          capture_output=True, text=True, timeout=60)
    assert "REDIS_URL is not set and no running `make run` was found" in said.stderr
    assert str(state) in said.stderr


def test_dev_with_redis_sentinels_starts_no_redis_of_its_own(tmp_path: Path) -> None:
    sentinel_port = free_port()  # nothing listens: only what dev starts is looked at
    run, _ = start_dev(tmp_path, f"REDIS_SENTINELS=127.0.0.1:{sentinel_port}\n")
    try:
        redis_line = run.wait_for_line("  Redis ")
        run.wait_for_line("Ctrl-C stops everything")
    finally:
        # What is asked here is only which Redis `dev` starts. Its web and worker are still trying
        # sentinels that are not there, and a Ctrl-C then can take longer than the wait allows on a
        # loaded machine: end the whole run's group (Ctrl-C has tests of its own above).
        run.kill_group()
    assert f"sentinels 127.0.0.1:{sentinel_port}" in redis_line and "embedded" not in redis_line
    assert not (run.cwd / ".data" / "redis").exists()
    assert not (tmp_path / "state" / "scrapestream" / "redis-url").exists()


def test_dev_refuses_while_the_redis_of_a_killed_run_still_serves_its_aof(tmp_path: Path) -> None:
    """A `make run` killed with SIGKILL leaves its redis-server running on `.data/redis`: a new run must not
    start a second one on the same AOF; it says which Redis and how to stop it, and leaves it alone."""
    checkout = tmp_path / "checkout"
    (checkout / ".data").mkdir(parents=True)
    (checkout / ".env").write_text(f"PORT={free_port()}\n")
    left_over = RedisServer().start()
    try:
        (checkout / ".data" / "redis-url").write_text(left_over.url + "\n")
        done = subprocess.run([*CLI, "dev"], cwd=checkout, env=shell_env(tmp_path / "state"), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1
        assert f"the Redis of an earlier `make run` (stopped without Ctrl-C) still serves .data/redis at " \
               f"{left_over.url}" in done.stderr
        assert "scrapestream redis-cli SHUTDOWN" in done.stderr
        assert (checkout / ".data" / "redis-url").read_text() == left_over.url + "\n"
        with redis.Redis.from_url(left_over.url) as client:
            assert client.ping()
    finally:
        left_over.cleanup()
