"""The design Scrapestream replaces, for `bench/submits.py` to race against: FastAPI + RQ.

    uvicorn bench.fastapi_rq_submit:app   (REDIS_URL names the Redis)

What the common tutorials and templates write: a pydantic body model, a plain
`def` endpoint (FastAPI runs it in its thread pool, as RQ's client is
synchronous) that enqueues the job with `Queue.enqueue`, and `202` with its id.
No auth, rate limit, idempotency or events: the baseline does less per submit.
"""

from __future__ import annotations

import os
from typing import Literal

from fastapi import FastAPI
from pydantic import AnyHttpUrl, BaseModel
from redis import Redis
from rq import Queue

app = FastAPI()
queue = Queue("scrape", connection=Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")))


class JobIn(BaseModel):
    type: Literal["scrape"] = "scrape"
    url: AnyHttpUrl


def scrape(url: str) -> None:
    """What a worker would run; the bench starts no worker, so jobs stay queued."""


@app.post("/jobs", status_code=202)
def submit(job: JobIn) -> dict[str, str]:
    rq_job = queue.enqueue(scrape, str(job.url))
    return {"id": rq_job.id, "status": "queued"}
