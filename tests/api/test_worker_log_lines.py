"""What a worker process logs: no phantom delay, no httpx lines for aiohttp fetches, JSON lines naming the job."""

from __future__ import annotations

import json
from typing import Any

from jobs.settings import Settings
from tests.support.stack import running_stack
from tests.support.worker_process import worker_process


async def test_json_log_lines_name_the_job_and_tell_no_phantom_delay(settings: Settings, site: str) -> None:
    """A job picked up at once was logged `delayed=300.00s` (arq reads its delay from the score, which our
    priorities shift into the past), every fetch was logged by `httpx` although aiohttp made it, and
    nothing said which job a line was about."""
    async with running_stack(settings, workers=0) as stack, \
            worker_process(settings, LOG_FORMAT="json", FETCH_BACKEND="aiohttp") as worker:
        job = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        batch = await stack.submit({"type": "batch", "urls": [f"{site}/plain", f"{site}/plain?b"]})
        for submitted in (job, batch):
            assert (await stack.wait_terminal(submitted["id"]))[-1]["type"] == "completed"
            # arq's end-of-job line, which follows the terminal event: then every line of the job is in.
            await worker.wait_for_line(f"← {submitted['id']}:")
    lines: list[dict[str, Any]] = [json.loads(line) for line in worker.lines]  # every line is one JSON object
    assert lines and all({"timestamp", "level", "logger", "message", "job_id"} <= set(line) for line in lines)
    for submitted in (job, batch):
        about = [line for line in lines if line["job_id"] == submitted["id"]]
        started = [line for line in about if "→" in line["message"]]
        assert len(started) == 1 and started[0]["logger"] == "arq.worker"
        assert any("←" in line["message"] for line in about)
    assert not [line for line in lines if "delayed=" in line["message"]]
    assert not [line for line in lines if line["logger"].startswith(("httpx", "httpcore"))]
    ready = next(line for line in lines if "ready for" in line["message"])
    assert ready["job_id"] is None and ready["level"] == "INFO"
