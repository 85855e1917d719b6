"""The SDK against the app in process (httpx.ASGITransport): every answer here ends.

ASGITransport hands over a response only once it is complete, so event
streams are read here only for jobs that have finished; the live path is in
`test_live.py`, against a real uvicorn.
"""

from __future__ import annotations

import pytest

from jobs.models import Format, JobStatus, ScrapeRequest
from service.client import Client, Conflict, InvalidRequest, JobCancelled, NotFound
from tests.support.stack import Stack

UNKNOWN = "0123456789abcdef0123456789abcdef"


async def test_a_finished_job_read_back_in_full(client: Client, stack: Stack, site: str) -> None:
    job = await client.scrape(f"{site}/plain", formats=[Format.MARKDOWN, "metadata"], wait=False)
    assert job.status is JobStatus.QUEUED and job.type == "scrape"
    assert job.links.events.startswith(f"/jobs/{job.id}/events?token=")
    await stack.wait_terminal(job.id)

    events = [event async for event in client.events(job.id)]
    history = (await stack.client.get(f"/jobs/{job.id}/events", params={"format": "json"})).json()
    assert [(e.id, e.type, e.data) for e in events] == [(h["id"], h["type"], h["data"]) for h in history]
    assert events[0].type == "queued" and events[-1].type == "completed" and events[-1].is_terminal

    record = await client.get(job.id)
    assert record.status is JobStatus.COMPLETED and record.percent == 100 and record.error is None
    result = await client.result(job.id)
    assert result["title"] == "Plain page"
    assert "main text of a plain test page" in result["markdown"]


async def test_following_from_the_terminal_event_ends_at_once(
    client: Client, stack: Stack, site: str
) -> None:
    job = await client.scrape(f"{site}/plain", wait=False)
    events = await stack.wait_terminal(job.id)
    assert [event async for event in client.events(job.id, last_event_id=events[-1]["id"])] == []
    rest = [event async for event in client.events(job.id, last_event_id=events[1]["id"])]
    assert [e.id for e in rest] == [e["id"] for e in events[2:]]


async def test_submit_takes_a_request_model_too(client: Client) -> None:
    job = await client.submit(ScrapeRequest(url="https://example.com/", formats=[Format.LINKS]))
    assert (await client.get(job.id)).status is JobStatus.QUEUED


async def test_a_bad_option_is_refused_with_the_field_at_fault(client: Client) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await client.scrape("https://example.com/", colour="red")
    assert caught.value.status == 422 and caught.value.field == "colour"
    with pytest.raises(InvalidRequest) as caught:
        await client.scrape("ftp://example.com/file")
    assert caught.value.code == "invalid_url" and caught.value.field == "url"
    assert caught.value.message


async def test_an_unknown_job_is_not_found_everywhere(client: Client) -> None:
    calls = [client.get(UNKNOWN), client.result(UNKNOWN), client.result(UNKNOWN, wait=True),
             client.cancel(UNKNOWN)]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            await call
        assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(NotFound):
        [event async for event in client.events(UNKNOWN)]


async def test_the_result_of_an_unfinished_job_is_a_conflict_carrying_the_job(client: Client) -> None:
    job = await client.scrape("https://example.com/", wait=False)  # no worker here: it stays queued
    with pytest.raises(Conflict) as caught:
        await client.result(job.id)
    assert caught.value.code == "not_completed"
    assert caught.value.job is not None and caught.value.job.status is JobStatus.QUEUED


async def test_cancel_then_cancel_again(client: Client) -> None:
    job = await client.scrape("https://example.com/", wait=False)
    record = await client.cancel(job.id)
    assert record.status is JobStatus.CANCELLED and record.error is not None
    with pytest.raises(Conflict) as caught:
        await client.cancel(job.id)
    assert caught.value.code == "already_finished"
    assert caught.value.job is not None and caught.value.job.status is JobStatus.CANCELLED
    with pytest.raises(JobCancelled) as cancelled:
        await client.result(job.id, wait=True)
    assert cancelled.value.code == "cancelled" and cancelled.value.job_id == job.id
    assert [e.type async for e in client.events(job.id)] == ["queued", "cancelled"]


async def test_jobs_walks_every_page(client: Client) -> None:
    submitted = [(await client.scrape(f"https://example.com/{n}", wait=False)).id for n in range(5)]
    await client.cancel(submitted[1])
    listed = [job async for job in client.jobs(limit=2)]
    assert sorted(job.id for job in listed) == sorted(submitted)
    created = [job.created_at for job in listed]
    assert created == sorted(created, reverse=True)  # newest first
    assert [job.id async for job in client.jobs(status="cancelled", limit=1)] == [submitted[1]]
    queued = [job async for job in client.jobs(status=JobStatus.QUEUED, limit=1)]
    assert len(queued) == 4
