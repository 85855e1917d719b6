"""What a client sees of a job: its terminal event, its record, its result."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack

# Transient failures are retried; these settings make the retries come at once.
QUICK_RETRIES: dict[str, Any] = {"retry_base_s": 0.01, "retry_max_delay_s": 0.05, "worker_poll_s": 0.05}


async def finish(stack: Stack, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Submit a scrape of `url`, follow it to its end: (terminal event, record)."""
    job = await stack.submit({"type": "scrape", "url": url})
    events = await stack.wait_terminal(job["id"])
    terminal = events[-1]
    assert terminal["type"] in ("completed", "failed", "cancelled"), events
    assert sum(e["type"] in ("completed", "failed", "cancelled") for e in events) == 1, events
    record = (await stack.client.get(f"/jobs/{job['id']}")).json()
    assert record["status"] == terminal["type"], (record, terminal)
    return terminal, record


async def failure(stack: Stack, url: str) -> dict[str, Any]:
    """The `failed` event's data of a scrape of `url`; the record agrees with it."""
    terminal, record = await finish(stack, url)
    assert terminal["type"] == "failed", terminal
    data: dict[str, Any] = terminal["data"]
    assert record["error"]["code"] == data["code"]
    assert data["message"]
    return data


async def completion(stack: Stack, url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, result document) of a scrape of `url`, which must complete."""
    terminal, _record = await finish(stack, url)
    assert terminal["type"] == "completed", terminal
    response = await stack.client.get(terminal["data"]["result_url"])
    assert response.status_code == 200, response.text
    return terminal["data"]["summary"], response.json()
