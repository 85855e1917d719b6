"""The URLs a job record links to; `events` and `result` carry the job's link token."""

from __future__ import annotations

from jobs.models import JobLinks

from .state import AppState
from .tokens import make_token


def job_links(job_id: str, token: str | None = None) -> JobLinks:
    base = f"/jobs/{job_id}"
    query = f"?token={token}" if token else ""
    return JobLinks(self=base, events=f"{base}/events{query}", result=f"{base}/result{query}")


async def signed_links(state: AppState, job_id: str) -> JobLinks:
    token = make_token(await state.link_secret(), job_id, state.settings.token_ttl_s)
    return job_links(job_id, token)
