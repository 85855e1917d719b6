"""The `batch` job: a list of pages fetched on every worker, within per-host limits.

A batch is a crawl with a fixed frontier: its URLs, each at its position,
with no links followed. The coordinator (this job) opens the shared state
with one placeholder entry per URL, enqueues parts like a crawl
(`jobs.kinds.crawl`), and takes part; each page's completion fills its own
slot, so the result keeps the order of the URLs. A failing URL fills its slot
with an error and does not fail the batch. A new attempt of the same run
resumes: the slots filled stay filled.
"""

from __future__ import annotations

from typing import Any

import orjson

from jobs.errors import JobCancelled
from jobs.fetch.addresses import AddressPolicy
from jobs.kinds.crawl import Spreading, enqueue_parts, finish_spread, holder_name, take_part
from jobs.kinds.page_work import PageWork
from jobs.kinds.spread import CrawlLimits, Participant
from jobs.lifecycle.attempt import JobOutcome, JobRun
from jobs.models import BatchRequest, WebhookSpec
from jobs.queue.claim import FENCE_FIELD
from jobs.store.crawl_state import CrawlBounds, CrawlEnded, CrawlState, CrawlSuperseded, Seed


async def run_batch(
    run: JobRun, request: dict[str, Any], work: PageWork, policy: AddressPolicy, limits: CrawlLimits,
    spreading: Spreading,
) -> JobOutcome:
    spec = BatchRequest.model_validate(request)
    env = run.env
    state = CrawlState(env.queue.keys, run.job_id)
    fence = None if run.fence is None else (FENCE_FIELD, run.fence)
    count = len(spec.urls)
    bounds = CrawlBounds("batch", count, count, count, limits.per_host, int(limits.delay_s * 1000))
    try:
        resumed = await state.open(
            env.redis, run=spreading.arq_id, fence=fence, ttl_s=env.queue.limits.ttl_s, bounds=bounds,
            seeds=[Seed(str(index), url, index) for index, url in enumerate(spec.urls)],
            placeholders=[orjson.dumps({"url": url, "pending": True}) for url in spec.urls])
    except (CrawlEnded, CrawlSuperseded) as exc:
        raise JobCancelled(f"the batch cannot start: {exc}") from exc
    if resumed is None:
        await run.progress("fetch", 1, f"Fetching {count} pages")
    else:
        run.set_percent(min(99, 100 * resumed // count))
        await run.progress("fetch", 1, f"Resuming: {resumed} of {count} pages done")
    webhook = WebhookSpec.model_validate(request["webhook"]) if request.get("webhook") else None
    participant = Participant(env, state, holder_name(env.worker_name, spreading.arq_id, run.fence), run.attempt,
                              fence, work, policy, limits, None, spreading.wakes, webhook)
    with participant.joined():  # before its parts exist: this worker leaves them to the others
        await enqueue_parts(run, spreading, "batch", spec.priority)
        await take_part(run, participant)
    counters = await finish_spread(run, state)
    done, failed = counters.get("pages", 0), counters.get("failed", 0)
    await run.progress("store", 100, f"Fetched {done} pages, {failed} failed", defer=True)
    summary = {"pages": done, "failed": failed}
    return JobOutcome(orjson.dumps(summary), summary)
