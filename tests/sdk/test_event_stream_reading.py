"""How the SDK reads an event stream, against scripted servers that misbehave on purpose."""

from __future__ import annotations

import httpx
import pytest

from service.client import Client, EventStreamLost, JobEvent, NotFound, RetryPolicy, ServerError

from .conftest import QUICK_RETRY
from .scripted import Scripted, ScriptedServer, error, stream

JOB = "0123456789abcdef0123456789abcdef"


async def follow(
    server: ScriptedServer, last_event_id: str | None = None, retry: RetryPolicy = QUICK_RETRY
) -> list[JobEvent]:
    transport = httpx.ASGITransport(app=server)
    async with Client("http://scripted.test", transport=transport, retry=retry) as client:
        return [event async for event in client.events(JOB, last_event_id=last_event_id)]


def frames(*entries: tuple[str, str]) -> str:
    return "".join(f"id: {entry_id}\nevent: {kind}\ndata: {{}}\n\n" for entry_id, kind in entries)


# CRLF, lone CR, LF; a BOM; comments; multi-line data; `data:` without the space;
# U+2028 inside a JSON string (a line break to str.splitlines, not to SSE); an id-less resync.
EDGE_CASES = (
    "\ufeffretry: 10\r\n\r\n"
    ": keep-alive\r\n\r\n"
    'id: 1-1\r\nevent: progress\r\ndata: {"phase":\r\ndata: "fetch"}\r\n\r\n'
    'id: 1-2\revent: page\rdata: {"title": "a\u2028b"}\r\r'
    'event: resync\ndata: {"record": {"status": "running"}}\n\n'
    "id: 1-3\nevent: completed\ndata:{\"ok\":true}\n\n"
    "id: 1-4\nevent: progress\ndata: {}\n\n"  # after the terminal event: never read
)


@pytest.mark.parametrize("chunk_size", [None, 1, 7])
async def test_the_event_stream_format_is_read_per_spec(chunk_size: int | None) -> None:
    server = ScriptedServer([stream(EDGE_CASES, chunk_size)])
    events = await follow(server)
    assert [(e.id, e.type, e.data) for e in events] == [
        ("1-1", "progress", {"phase": "fetch"}),
        ("1-2", "page", {"title": "a\u2028b"}),
        (None, "resync", {"record": {"status": "running"}}),
        ("1-3", "completed", {"ok": True}),
    ]
    assert [e.is_terminal for e in events] == [False, False, False, True]
    assert len(server.requests) == 1


async def test_a_server_that_replays_old_events_does_not_make_duplicates() -> None:
    """The stream breaks after 1-2; the next answer starts over from 1-1."""
    server = ScriptedServer([
        stream(frames(("1-1", "queued"), ("1-2", "started"))),
        stream(frames(("1-1", "queued"), ("1-2", "started"), ("1-3", "progress"), ("1-4", "completed"))),
    ])
    events = await follow(server)
    assert [e.id for e in events] == ["1-1", "1-2", "1-3", "1-4"]
    assert "last-event-id" not in server.requests[0]
    assert server.requests[1]["last-event-id"] == "1-2"


async def test_an_event_older_than_the_last_one_is_dropped_even_within_one_stream() -> None:
    server = ScriptedServer([stream(frames(("5-0", "queued"), ("4-9", "started"), ("5-1", "completed")))])
    assert [e.id for e in await follow(server)] == ["5-0", "5-1"]


async def test_following_from_an_id_sends_it_and_skips_what_is_not_newer() -> None:
    server = ScriptedServer([stream(frames(("1-5", "progress"), ("1-6", "completed")))])
    events = await follow(server, last_event_id="1-5")
    assert [e.id for e in events] == ["1-6"]
    assert server.requests[0]["last-event-id"] == "1-5"


async def test_204_on_reconnect_ends_the_stream() -> None:
    server = ScriptedServer([stream(frames(("1-1", "queued"))), Scripted(204, [], [])])
    assert [e.id for e in await follow(server)] == ["1-1"]
    assert len(server.requests) == 2


async def test_server_errors_and_wrong_answers_are_retried() -> None:
    server = ScriptedServer([
        error(500), Scripted(502, [(b"content-type", b"text/html")], [b"<h1>Bad gateway</h1>"]),
        Scripted(200, [(b"content-type", b"text/html")], [b"<p>a captive portal</p>"]),
        stream(frames(("1-1", "queued"), ("1-2", "completed"))),
    ])
    retry = RetryPolicy(attempts=5, budget_s=30, base_s=0.01, cap_s=0.05)
    assert [e.id for e in await follow(server, retry=retry)] == ["1-1", "1-2"]
    assert len(server.requests) == 4


async def test_giving_up_says_where_to_resume() -> None:
    server = ScriptedServer([stream(frames(("1-1", "queued"))), error(500, "internal_error")])
    with pytest.raises(EventStreamLost) as caught:
        await follow(server)
    assert caught.value.last_event_id == "1-1"
    assert caught.value.attempts == QUICK_RETRY.attempts
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.code == "internal_error"
    assert len(server.requests) == 1 + QUICK_RETRY.attempts  # the stream that broke, then the retries


async def test_an_unknown_job_is_not_retried() -> None:
    server = ScriptedServer([error(404, "not_found")])
    with pytest.raises(NotFound) as caught:
        await follow(server)
    assert caught.value.status == 404 and caught.value.code == "not_found"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "cut",
    [
        'id: 1-2\nevent: completed\ndata: {"from": "the broken stream"}\n',  # every line, no blank one
        'id: 1-2\nevent: completed\ndata: {"from": "the bro',  # mid-line
        "id: 1-2\n",
    ],
)
async def test_an_event_cut_off_by_a_dropped_connection_is_not_yielded(cut: str) -> None:
    """The spec discards an unfinished event; it arrives whole after the resume from 1-1."""
    server = ScriptedServer([
        stream(frames(("1-1", "queued")) + cut),
        stream(frames(("1-2", "completed"))),
    ])
    events = await follow(server)
    assert [(e.id, e.type, e.data) for e in events] == [("1-1", "queued", {}), ("1-2", "completed", {})]
    assert server.requests[1]["last-event-id"] == "1-1"


@pytest.mark.parametrize("hint", ["retry: 600000\n\n", "\ufeffretry: 600000\n\n", ": hi\nretry: 600000\n\n"])
async def test_the_servers_retry_hint_sets_the_pace_of_reconnects(hint: str) -> None:
    """A hint of 10 minutes makes the first wait longer than the whole budget: the SDK gives up at once."""
    server = ScriptedServer([stream(hint + frames(("1-1", "queued"))), stream(frames(("1-2", "completed")))])
    retry = RetryPolicy(attempts=3, budget_s=30, base_s=0.01, cap_s=3600)
    with pytest.raises(EventStreamLost) as caught:
        await follow(server, retry=retry)
    assert caught.value.last_event_id == "1-1" and caught.value.attempts == 0
    assert len(server.requests) == 1


@pytest.mark.parametrize("hint", ["retry: -600000\n\n", "retry: 10 minutes\n\n", "retry:\n\n", "xretry: 600000\n\n"])
async def test_a_retry_hint_that_is_not_a_number_of_ms_is_ignored(hint: str) -> None:
    server = ScriptedServer([stream(hint + frames(("1-1", "queued"))), stream(frames(("1-2", "completed")))])
    retry = RetryPolicy(attempts=3, budget_s=30, base_s=0.01, cap_s=3600)
    assert [e.id for e in await follow(server, retry=retry)] == ["1-1", "1-2"]
    assert server.requests[1]["last-event-id"] == "1-1"


async def test_a_resync_on_a_reconnect_is_yielded_and_the_resume_point_kept() -> None:
    """The server sends `resync` (no `id:`) first when history was trimmed; the next resume is still from 1-1."""
    resync = 'event: resync\ndata: {"record": {"status": "running"}}\n\n'
    server = ScriptedServer([
        stream(frames(("1-1", "queued"))),
        stream(resync + frames(("1-1", "queued"))),  # a reconnect, and the stream breaks again
        stream(frames(("1-2", "completed"))),
    ])
    events = await follow(server)
    assert [(e.id, e.type) for e in events] == [("1-1", "queued"), (None, "resync"), ("1-2", "completed")]
    assert [r.get("last-event-id") for r in server.requests] == [None, "1-1", "1-1"]
