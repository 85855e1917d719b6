"""Job kinds and their queues: one arq queue per kind, and the shared one every worker takes.

A worker pool sized for scrapes and another for crawls need their work apart:
each kind waits in a queue of its own (`arq:queue:<kind>`), and a worker takes
the queues of the kinds it was started for (`--kinds`, `WORKER_KINDS`).
What has no kind — webhook deliveries and the cleanup cron — waits in arq's
own queue (`arq:queue`), which every worker takes; so do the jobs an older
version (one queue for everything) left there, each run only by a worker that
takes its kind.
"""

from __future__ import annotations

from collections.abc import Iterable

from jobs.models import REQUEST_MODELS
from streams.keys import Keyspace

JOB_KINDS: tuple[str, ...] = tuple(REQUEST_MODELS)
"""Every job kind, in the order people read them: scrape, crawl, batch, ask."""


class UnknownKind(ValueError):
    """A worker was asked for a kind there is none of (a typo in `--kinds` or `WORKER_KINDS`)."""


def parse_kinds(text: str) -> tuple[str, ...]:
    """`crawl,batch` → ("crawl", "batch"), in JOB_KINDS order; empty → every kind. Raises UnknownKind."""
    named = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [kind for kind in named if kind not in JOB_KINDS]
    if unknown:
        raise UnknownKind(f"unknown job kind{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                          f"the kinds are {', '.join(JOB_KINDS)}")
    return tuple(kind for kind in JOB_KINDS if kind in named) if named else JOB_KINDS


def queue_of(keys: Keyspace, kind: str | None) -> str:
    """The queue an arq job of `kind` waits in; None (a webhook delivery, the cron): the shared one.

    The one place where a kind picks its queue: submit, re-run, promotion and the crawl's parts ask here.
    """
    return keys.kind_queue(kind) if kind in JOB_KINDS else keys.arq_queue()


def queues_of(keys: Keyspace, kinds: Iterable[str]) -> list[str]:
    """Every queue a job of one of `kinds` may wait in: its kind's, and the shared one (left by an older version)."""
    return [*(keys.kind_queue(kind) for kind in kinds), keys.arq_queue()]
