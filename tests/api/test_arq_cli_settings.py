"""`arq jobs.worker.runner.WorkerSettings` runs our jobs with arq's own Worker (polling pickup)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from jobs.webhooks.signing import generate_secret
from tests.support.servers import serve_in_thread
from tests.support.stack import Stack


@pytest.mark.timeout(120)
async def test_arq_cli_worker_runs_a_job_and_delivers_its_webhook(idle_stack: Stack, site: str) -> None:
    """The worker context (fetcher, webhook client ...) is built by arq's Worker too, not only ours."""
    delivered: list[dict[str, Any]] = []

    async def hook(request: Request) -> Response:
        delivered.append(orjson.loads(await request.body()))
        return PlainTextResponse("ok")

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as receiver:
        webhook = {"url": f"{receiver}/hook", "secret": generate_secret()}
        job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain", "webhook": webhook})
        env = {**os.environ, "REDIS_URL": idle_stack.settings.redis_url, "ALLOW_PRIVATE_ADDRESSES": "true",
               "ALLOWED_PORTS": "*", "LOG_LEVEL": "WARNING"}
        # --burst: run what is queued (the job, then the delivery it queues), then exit.
        done = subprocess.run([sys.executable, "-m", "arq", "jobs.worker.runner.WorkerSettings", "--burst"],  # noqa: ASYNC221
                              env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    events = await idle_stack.wait_terminal(job["id"])
    assert events[-1]["type"] == "completed"
    assert [(body["type"], body["data"]["job_id"]) for body in delivered] == [("job.completed", job["id"])]
