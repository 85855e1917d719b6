"""A browser's `EventSource` rides through a Redis outage: real Chromium, uvicorn, arq worker, redis-server.

By the HTML standard an `EventSource` that gets any status but 200 closes for
good; a 200 that ends, or a network error, makes it reconnect with its
`Last-Event-ID`. So while Redis is down the events route must keep answering
200; when Redis is back the page resumes and ends with every event once.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from playwright.async_api import BrowserContext
from redis.asyncio import Redis

from service.settings import WebSettings
from tests.support.gated_site import gated_site
from tests.support.redis_server import RedisServer
from tests.support.stack import running_stack

OUTAGE_S = 3.0

# Every event type a job's stream may hold; EventSource delivers named events only to their listeners.
FOLLOW = """(path) => {
  const seen = {events: [], opens: 0, errors: 0, closed: false};
  const source = new EventSource(path);
  for (const type of ["queued", "started", "progress", "page", "retrying",
                      "completed", "failed", "cancelled", "resync"]) {
    source.addEventListener(type, (e) => seen.events.push({id: e.lastEventId, type, data: JSON.parse(e.data)}));
  }
  source.onopen = () => { seen.opens += 1; };
  source.onerror = () => {
    seen.errors += 1;
    seen.closed = source.readyState === EventSource.CLOSED;
  };
  window.__follow = seen;
}"""


async def followed(page: Any) -> dict[str, Any]:
    seen: dict[str, Any] = await page.evaluate("window.__follow")
    return seen


async def test_a_browser_follower_rides_a_redis_outage_and_ends_with_every_event_once(
    settings: WebSettings, browser: BrowserContext
) -> None:
    own = RedisServer(appendonly=True).start()
    try:
        configured = settings.model_copy(update={
            # A short `retry:` so the page reconnects a few times during the outage;
            # a lease and fetch timeout far beyond it, so the job rides it out too.
            "redis_url": own.url, "sse_retry_ms": 250, "worker_lease_s": 30, "fetch_timeout_s": 60,
        })
        with gated_site() as (page_url, gate):
            async with running_stack(configured) as stack:
                job = await stack.submit({"type": "scrape", "url": page_url})
                page = await browser.new_page()
                await page.goto(stack.base_url + "/openapi.json")  # any page of the app's origin
                await page.evaluate(FOLLOW, job["links"]["events"])
                # Events before the outage: up to `fetch`; the worker now waits for the gated page.
                await page.wait_for_function(
                    "window.__follow.events.some(e => e.type === 'progress' && e.data.phase === 'fetch')"
                )
                opens_before = (await followed(page))["opens"]

                own.stop()
                down_at = time.monotonic()
                # The page is told to come back (a 200 that ends), more than once, while Redis is down.
                await page.wait_for_function(f"window.__follow.opens >= {opens_before + 2} || window.__follow.closed")
                assert not (await followed(page))["closed"], "EventSource gave up during the outage"
                await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
                own.start()  # same port, same directory: the AOF brings the job back

                gate.open()
                # The server ends the stream after `completed`; the page reconnects, gets 204 and stops.
                await page.wait_for_function("window.__follow.closed")
                seen = await followed(page)
                async with Redis.from_url(own.url) as redis:
                    stored = await redis.xrange(stack.state.keys.events(job["id"]))
                assert [event["id"] for event in seen["events"]] == [entry_id.decode() for entry_id, _ in stored]
                types = [event["type"] for event in seen["events"]]
                assert types[0] == "queued" and types[-1] == "completed"
                assert "parse" in [event["data"].get("phase") for event in seen["events"]]  # events after the outage
                await page.close()
    finally:
        own.cleanup()
