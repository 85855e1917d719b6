"""Ctrl-C leaves the job running; a web process that dies and comes back costs the command nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from service.settings import WebSettings
from tests.support.gated_site import gated_site
from tests.support.process import WebProcess, web_process
from tests.support.stack import Stack

from .conftest import started_cli


@pytest.fixture
def settings(settings: WebSettings) -> WebSettings:
    """The gated page holds its fetch open while the web process restarts, which on a loaded machine
    took longer than the suite's 10 s fetch deadline: the attempt then failed and ran again."""
    return settings.model_copy(update={"fetch_timeout_s": 120, "fetch_read_timeout_s": 120})


@pytest.fixture
async def web(stack: Stack) -> AsyncIterator[WebProcess]:
    """A web process of its own (the stack's worker does the jobs), killable; a short `retry:` hint
    so the command's reconnects start soon."""
    async with web_process(stack.settings, SSE_RETRY_MS="100") as running:
        yield running


async def test_ctrl_c_exits_130_leaves_the_job_running_and_says_how_to_follow_it(stack: Stack) -> None:
    with gated_site() as (url, gate):
        async with started_cli(["scrape", url], stack.base_url) as cli:
            job_id = (await cli.stderr_line_matching(r"^job [0-9a-f]{32}: ")).split()[1].rstrip(":")
            await cli.stderr_line_matching(r"^progress  fetch")
            cli.interrupt()
            done = await cli.finished()
        assert done.code == 130
        assert f"scrapestream events {job_id} --follow" in done.stderr
        assert (await stack.client.get(f"/jobs/{job_id}")).json()["status"] == "running"
        gate.open()
    events = await stack.wait_terminal(job_id)
    assert events[-1]["type"] == "completed"


async def test_a_scrape_survives_a_restart_of_the_web_process(stack: Stack, web: WebProcess) -> None:
    with gated_site() as (url, gate):
        async with started_cli(["scrape", url], web.base_url) as cli:
            await cli.stderr_line_matching(r"^progress  fetch")  # mid-fetch, its stream open
            web.kill()
            await web.start()
            gate.open()
            done = await cli.finished()
    assert done.code == 0, done.stderr
    assert done.json()["title"] == "Plain page"
    assert "resuming after" in done.stderr  # it did lose the connection, and picked up after its last event
    lines = done.stderr.splitlines()
    assert lines.count(next(line for line in lines if line.startswith("progress  fetch"))) == 1
    assert lines[-1].startswith("completed ")
