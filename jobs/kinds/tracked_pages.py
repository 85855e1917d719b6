"""A tracked crawl's page hook (`Participant.page_hook`): each page compared just before its completion.

Whichever worker does a page compares it (`jobs.changes.crawls`), then, in
one fenced script, records its look and publishes `changed` when it differs
(echoed to the owner's activity stream, and delivered to the job's webhook);
the page's completion then stores the entry it hands back: what the client
asked for, with `change`. A part of a crawl has no attempt fence: it writes
while the crawl is unsealed, as its completion does.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jobs.changes.crawls import track_crawl_page
from jobs.changes.tracking import Watch
from jobs.kinds.page_work import PageOutcome
from jobs.kinds.spread import PageHook
from jobs.lifecycle.attempt import JobEnv, queue_webhooks
from jobs.models import WebhookSpec
from streams.events import EventType
from streams.publish import Fence, PendingEvent, Superseded, append_events, run_if_current


def tracking_hook(env: JobEnv, watch: Watch, job_id: str, asked: frozenset[str], fence: tuple[str, int] | None,
                  webhook: WebhookSpec | None) -> PageHook:
    """The hook of one participant of a tracked crawl; `asked`: the formats its pages show."""
    queue, redis = env.queue, env.redis
    keys = queue.keys
    writer = None if fence is None else Fence(*fence)

    async def hook(outcome: PageOutcome, data: dict[str, Any]) -> PageOutcome:
        page = await track_crawl_page(redis, keys, watch, job_id, outcome.url, outcome.entry, asked,
                                      queue.limits.ttl_s)
        if page is None:  # a failed page is no look
            return outcome
        data["change"] = page.tracked.change.status
        try:
            if page.tracked.changed_event is None:
                await run_if_current(redis, keys.events(job_id), keys.record(job_id), writer, page.commands)
            else:
                event = PendingEvent.make(EventType.CHANGED, page.tracked.changed_event)
                ids = await append_events(redis, keys.events(job_id), keys.record(job_id), [event],
                                          then=page.commands, fence=writer, activity=queue.activity(watch.owner),
                                          limits=queue.limits)
                if ids and webhook is not None:
                    async with redis.pipeline(transaction=False) as pipe:
                        if queue_webhooks(pipe, queue, job_id, webhook, list(zip(ids, [event], strict=True))):
                            await pipe.execute()
        except Superseded:
            pass  # a newer attempt owns the crawl: the completion that follows is refused as well
        return replace(outcome, entry=page.entry)

    return hook
