"""`arq jobs.worker.runner.WorkerSettings` runs our jobs with arq's own Worker (polling pickup)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.stack import Stack


@pytest.mark.timeout(120)
async def test_arq_cli_worker_runs_a_job(idle_stack: Stack, site: str) -> None:
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})
    env = {**os.environ, "REDIS_URL": idle_stack.settings.redis_url, "ALLOW_PRIVATE_ADDRESSES": "true",
           "ALLOWED_PORTS": "*", "LOG_LEVEL": "WARNING"}
    # --burst: run what is queued, then exit.
    done = subprocess.run([sys.executable, "-m", "arq", "jobs.worker.runner.WorkerSettings", "--burst"], env=env,  # noqa: ASYNC221
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    events = await idle_stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed"
