"""jobs, status, events, result, retry, info, workers: `--json` is what the API answers."""

from __future__ import annotations

from typing import Any

from tests.support.stack import Stack

from .conftest import run_cli


def unsigned(record: dict[str, Any]) -> dict[str, Any]:
    """A record with its links' tokens left out: each answer signs them afresh (their expiry moves)."""
    links = {name: url.split("?token=")[0] for name, url in (record.get("links") or {}).items()}
    return {**record, "links": links}


async def test_json_outputs_match_the_api(stack: Stack, site: str) -> None:
    scraped = await run_cli(["scrape", f"{site}/plain"], stack.base_url)
    failed = await run_cli(["scrape", f"{site}/status/404"], stack.base_url)
    assert (scraped.code, failed.code) == (0, 1)

    listing = await run_cli(["jobs", "--json"], stack.base_url)
    api_jobs = (await stack.client.get("/jobs")).json()["jobs"]
    assert listing.code == 0 and [unsigned(job) for job in listing.json()] == [unsigned(job) for job in api_jobs]
    assert [job["id"] for job in listing.json()] == [failed.job_id, scraped.job_id]
    only_failed = await run_cli(["jobs", "--status", "failed", "--url", "STATUS/404", "--json"], stack.base_url)
    assert [job["id"] for job in only_failed.json()] == [failed.job_id]

    status = await run_cli(["status", scraped.job_id, "--json"], stack.base_url)
    assert unsigned(status.json()) == unsigned((await stack.client.get(f"/jobs/{scraped.job_id}")).json())

    events = await run_cli(["events", failed.job_id, "--json"], stack.base_url)
    api_events = (await stack.client.get(f"/jobs/{failed.job_id}/events", params={"format": "json"})).json()
    assert events.json() == api_events and api_events[-1]["type"] == "failed"
    after = await run_cli(["events", failed.job_id, "--after", api_events[1]["id"], "--json"], stack.base_url)
    assert after.json() == api_events[2:]
    # Following a job that ended replays it and exits as the job ended.
    followed = await run_cli(["events", failed.job_id, "--follow", "--json"], stack.base_url)
    assert followed.code == 1 and followed.json_lines() == api_events

    result = await run_cli(["result", scraped.job_id], stack.base_url)
    assert result.json() == (await stack.client.get(f"/jobs/{scraped.job_id}/result")).json()
    no_result = await run_cli(["result", failed.job_id], stack.base_url)
    assert no_result.code == 1 and no_result.stderr.startswith("http_status: ")

    queue = await run_cli(["info", "--json"], stack.base_url)
    assert queue.json()["queue"]["completed"] == (await stack.client.get("/queue")).json()["completed"] == 1
    assert [worker["name"] for worker in queue.json()["workers"]] == [
        worker["name"] for worker in (await stack.client.get("/workers")).json()["workers"]
    ]
    workers = await run_cli(["workers", "--json"], stack.base_url)
    # The same worker, as the API lists it; only its heartbeat may have moved between the two calls.
    def steady(listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in worker.items() if k != "last_heartbeat"} for worker in listed]

    assert steady(workers.json()) == steady(queue.json()["workers"]) and len(workers.json()) == 1


async def test_tables_for_people(stack: Stack, site: str) -> None:
    scraped = await run_cli(["scrape", f"{site}/plain"], stack.base_url)
    table = await run_cli(["jobs"], stack.base_url)
    header, row = table.stdout.splitlines()
    assert header.split() == ["id", "type", "status", "URL", "progress", "attempt", "created", "duration"]
    assert row.split()[:6] == [scraped.job_id, "scrape", "completed", f"{site}/plain", "100%", "1"]
    assert "\x1b[" not in table.stdout  # no color into a pipe

    status = await run_cli(["status", scraped.job_id], stack.base_url)
    assert "status    completed" in status.stdout and f"asked     {site}/plain" in status.stdout

    info = await run_cli(["info"], stack.base_url)
    assert "completed  1" in info.stdout and "1 live worker" in info.stdout


async def test_a_crawls_result_is_its_pages_as_json_lines(stack: Stack, site: str) -> None:
    crawled = await run_cli(["crawl", f"{site}/plain", "--limit", "1"], stack.base_url)
    again = await run_cli(["result", crawled.job_id], stack.base_url)
    assert again.code == 0 and again.json_lines() == crawled.json_lines() and len(again.json_lines()) == 1


async def test_cancel_and_retry(stack: Stack, site: str) -> None:
    failed = await run_cli(["scrape", f"{site}/status/404"], stack.base_url)
    retried = await run_cli(["retry", failed.job_id], stack.base_url)
    assert retried.code == 0 and retried.stdout == f"retrying {failed.job_id}\n"
    followed = await run_cli(["events", failed.job_id, "--follow"], stack.base_url)
    assert followed.code == 1  # 404 again, on attempt 2
    assert (await stack.client.get(f"/jobs/{failed.job_id}")).json()["attempt"] == 2

    done = await run_cli(["cancel", failed.job_id], stack.base_url)
    assert done.code == 2 and done.stderr.startswith("already_finished: ")


async def test_retry_every_failed_job_in_one_call(stack: Stack, site: str) -> None:
    first = await run_cli(["scrape", f"{site}/status/404"], stack.base_url)
    second = await run_cli(["scrape", f"{site}/status/410"], stack.base_url)
    await run_cli(["scrape", f"{site}/plain"], stack.base_url)
    retried = await run_cli(["retry", "--failed", "--json"], stack.base_url)
    assert retried.code == 0, retried.stderr
    assert sorted(retried.json()) == sorted([first.job_id, second.job_id])
