"""arq's queue layout, in one place, for code that writes arq jobs directly."""

from __future__ import annotations

from arq.constants import abort_jobs_ss, default_queue_name, in_progress_key_prefix, job_key_prefix

QUEUE_KEY = default_queue_name
ABORT_KEY = abort_jobs_ss


def arq_job_key(job_id: str) -> str:
    return job_key_prefix + job_id


def arq_in_progress_key(job_id: str) -> str:
    return in_progress_key_prefix + job_id
