"""`arq jobs.worker.runner.WorkerSettings` is gone, and says so: arq's own Worker takes one queue.

Jobs wait in one queue per kind (`jobs.queue.kinds`); arq's Worker would look
at the shared queue alone and leave every job waiting without a word. Someone
upgrading a deployment that started workers that way gets the way that works.
"""

from __future__ import annotations

import asyncio
import os
import sys

from jobs.worker.runner import ARQ_CLI_GONE
from tests.support.process import ROOT


async def test_arq_cli_worker_settings_fail_at_once_naming_scrapestream_worker(redis_url: str) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arq", "jobs.worker.runner.WorkerSettings", "--burst", cwd=ROOT,
        env={**os.environ, "REDIS_URL": redis_url}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    async with asyncio.timeout(60):
        _out, err = await process.communicate()
    assert process.returncode != 0
    assert ARQ_CLI_GONE in err.decode()
    assert "scrapestream worker" in ARQ_CLI_GONE
