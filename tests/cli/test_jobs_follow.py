"""`scrapestream jobs --follow` into a pipe: one JSON line per activity event, live, filtered, until Ctrl-C."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.settings import WebSettings
from tests.support.process import web_process
from tests.support.stack import Stack, running_stack

from .conftest import PATIENCE_S, RunningCli, started_cli

Line = dict[str, Any]


@pytest.fixture
async def stack(settings: WebSettings) -> AsyncIterator[Stack]:
    # `queue` events soon and often: the first one says the command's stream is open.
    async with running_stack(settings.model_copy(update={"activity_queue_every_s": 0.2})) as running:
        yield running


async def lines_until(cli: RunningCli, done: Callable[[list[Line]], bool], seen: list[Line]) -> list[Line]:
    """Read the command's stdout, one JSON object a line, into `seen` until `done(seen)` holds."""
    assert cli.process.stdout is not None
    async with asyncio.timeout(PATIENCE_S):
        while not done(seen):
            raw = await cli.process.stdout.readline()
            assert raw, f"the command ended early: {seen}"
            seen.append(json.loads(raw))
    return seen


def job_lines(seen: list[Line], job_id: str | None = None) -> list[Line]:
    return [line for line in seen if line["type"] != "queue" and (job_id is None or line["data"]["id"] == job_id)]


def ended(job_id: str) -> Callable[[list[Line]], bool]:
    return lambda seen: any(line["type"] in ("completed", "failed") for line in job_lines(seen, job_id))


def following(seen: list[Line]) -> bool:
    return any(line["type"] == "queue" for line in seen)


async def test_jobs_follow_prints_each_jobs_lifecycle_as_json_lines(stack: Stack, site: str) -> None:
    async with (started_cli(["jobs", "--follow", "--json"], stack.base_url) as every,
                started_cli(["jobs", "--follow", "--status", "failed"], stack.base_url) as only_failed):
        everything: list[Line] = []
        failures: list[Line] = []
        await lines_until(every, following, everything)
        await lines_until(only_failed, following, failures)  # not a terminal: JSON lines without --json

        good = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        await lines_until(every, ended(good["id"]), everything)
        bad = await stack.submit({"type": "scrape", "url": f"{site}/status/404"})
        await lines_until(every, ended(bad["id"]), everything)
        # The filtered command's stream carried the completed job's events first: none was printed.
        await lines_until(only_failed, ended(bad["id"]), failures)

        every.interrupt()
        only_failed.interrupt()
        stopped = [await every.finished(), await only_failed.finished()]

    assert [done.code for done in stopped] == [130, 130]
    assert all("Traceback" not in done.stderr for done in stopped)
    for job, url, end in ((good, f"{site}/plain", "completed"), (bad, f"{site}/status/404", "failed")):
        lines = job_lines(everything, job["id"])
        assert [line["type"] for line in lines] == ["queued", "started", end]
        assert [line["data"]["status"] for line in lines] == ["queued", "running", end]
        assert all(line["id"] and line["data"]["type"] == "scrape" and line["data"]["url"] == url
                   for line in lines)
    assert job_lines(everything)[-1]["data"]["error"]["code"] == "http_status"
    assert [(line["type"], line["data"]["id"]) for line in job_lines(failures)] == [("failed", bad["id"])]
    queue = next(line for line in everything if line["type"] == "queue")
    assert queue["id"] is None and queue["data"]["workers"] == 1


async def test_jobs_follow_survives_a_restart_of_the_web_process(stack: Stack, site: str) -> None:
    # A web process of its own, killable (the stack's worker runs the jobs); a short `retry:` hint.
    async with (web_process(stack.settings, SSE_RETRY_MS="100") as web,
                started_cli(["jobs", "--follow", "--json"], web.base_url) as cli):
        seen: list[Line] = []
        await lines_until(cli, following, seen)
        before = await stack.submit({"type": "scrape", "url": f"{site}/plain"})
        await lines_until(cli, ended(before["id"]), seen)  # the command holds a position to resume after
        web.kill()
        during = await stack.submit({"type": "scrape", "url": f"{site}/plain"})  # no web process is up
        await stack.wait_terminal(during["id"])
        await web.start()
        await lines_until(cli, ended(during["id"]), seen)
        cli.interrupt()
        done = await cli.finished()
    assert done.code == 130
    for job in (before, during):
        assert [line["type"] for line in job_lines(seen, job["id"])] == ["queued", "started", "completed"]
    assert "resuming after" in done.stderr
