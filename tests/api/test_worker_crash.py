"""Nothing accepted is lost: a worker killed mid-job (SIGKILL) leaves its job to another within the lease."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

from jobs.settings import Settings
from tests.support.sse import read_sse
from tests.support.stack import running_stack, running_worker


async def test_a_job_of_a_killed_worker_runs_again_elsewhere(settings: Settings, site: str) -> None:
    leased = settings.model_copy(update={"worker_lease_s": 2.0})
    env = {**os.environ, "REDIS_URL": settings.redis_url, "KEY_PREFIX": settings.key_prefix,
           "ALLOW_PRIVATE_ADDRESSES": "true", "ALLOWED_PORTS": "*", "AUTH_REQUIRED": "false",
           "WORKER_LEASE_S": "2", "LOG_LEVEL": "WARNING"}
    async with running_stack(leased, workers=0) as stack:
        # A real worker process, so that it can be killed like one.
        doomed = subprocess.Popen([sys.executable, "-m", "service.cli", "worker"], env=env)  # noqa: ASYNC220
        try:
            job = await stack.submit({"type": "scrape", "url": f"{site}/slow?s=3"})
            async for event in read_sse(stack.client, f"/jobs/{job['id']}/events"):
                if event["type"] == "progress" and event["data"]["phase"] == "fetch":
                    break  # the doomed worker is fetching now
            doomed.send_signal(signal.SIGKILL)
            doomed.wait(10)
        finally:
            if doomed.poll() is None:
                doomed.kill()
                doomed.wait()
        async with running_worker(leased):
            events = await asyncio.wait_for(stack.wait_terminal(job["id"]), 60)
    started = [e["data"]["attempt"] for e in events if e["type"] == "started"]
    assert started == [1, 2]
    assert events[-1]["type"] == "completed"
    assert [e["type"] for e in events].count("completed") == 1
