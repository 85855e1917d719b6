"""Every SSE frame comes from one encoder (sse-starlette's), whatever an entry holds."""

from __future__ import annotations

import orjson
from redis.asyncio import Redis

from service.sse import KEEPALIVE_FRAME, encode_frame, encode_resync, encode_retry_hint
from streams.events import Event
from streams.keys import Keyspace
from streams.publish import StreamLimits, append_event
from tests.support.sse import iter_frames
from tests.support.stack import Stack


def test_sse_frame_keeps_unicode_line_separators_inside_data() -> None:
    """Regression: `str.splitlines` split data on U+2028, which JSON leaves raw."""
    frame = encode_frame(Event(id="1-0", type="progress", data='{"message":"a\u2028b"}'))
    assert frame == 'id: 1-0\nevent: progress\ndata: {"message":"a\u2028b"}\n\n'.encode()
    hand_written = encode_frame(Event(id="2-0", type="note", data="line one\r\nline two\rthree\u2028same"))
    expected = "id: 2-0\nevent: note\ndata: line one\ndata: line two\ndata: three\u2028same\n\n"
    assert hand_written == expected.encode()


def test_resync_retry_and_keepalive_frames() -> None:
    assert encode_resync(b'{"record":{}}') == b'event: resync\ndata: {"record":{}}\n\n'  # no id: resume stays put
    assert encode_retry_hint(3000) == b"retry: 3000\n\n"
    assert KEEPALIVE_FRAME == b": ping\n\n"


async def test_event_type_with_a_line_break_injected_sse_fields(idle_stack: Stack, site: str) -> None:
    """Regression: `Event.sse()` wrote an entry's `type` into the `event:` line as it was.

    A hand-written entry (`redis-cli XADD ... type "progress\\ndata: evil"`) thus
    added a `data: evil` line to its frame, and every follower read data the
    stream does not hold. The event name now loses its line breaks, as the id does.
    """
    job = await idle_stack.submit({"type": "scrape", "url": f"{site}/plain"})  # stays queued: no worker
    keys = Keyspace(idle_stack.settings.key_prefix)
    stored = '{"phase":"fetch","percent":5,"message":"hand-written","ts":1}'
    redis = Redis.from_url(idle_stack.settings.redis_url)
    try:
        injected_id = (await redis.xadd(keys.events(job["id"]), {"type": "progress\ndata: evil\r\nid: 9-9",
                                                                  "data": stored})).decode()
        await append_event(redis, keys.events(job["id"]), keys.record(job["id"]), "cancelled", {"by": "test"},
                           state={"status": "cancelled"}, limits=StreamLimits(maxlen=1_000, ttl_s=600))
    finally:
        await redis.aclose()

    async with idle_stack.client.stream("GET", f"/jobs/{job['id']}/events") as response:
        assert response.status_code == 200
        frames = [frame async for frame in iter_frames(response)]
    assert [frame["event"] for frame in frames] == ["queued", "progressdata: evilid: 9-9", "cancelled"]
    injected = frames[1]
    assert injected["id"] == injected_id  # not the `9-9` the type tried to set
    assert injected["data"] == stored
    assert orjson.loads(frames[-1]["data"])["by"] == "test"
