"""The URLs a job record links to."""

from __future__ import annotations

from jobs.models import JobLinks


def job_links(job_id: str) -> JobLinks:
    base = f"/jobs/{job_id}"
    return JobLinks(self=base, events=f"{base}/events", result=f"{base}/result")
