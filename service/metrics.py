"""Prometheus metrics of one web process, plus the queue as Redis sees it at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .memory_return import heap_trims


class QueueCollector(Collector):
    """Reports the last `queue_stats` handed to it (the route reads Redis, then renders)."""

    def __init__(self, follower_count: Any) -> None:
        self.stats: dict[str, Any] = {}
        self.follower_count = follower_count

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        followers = GaugeMetricFamily("scrapestream_sse_followers", "SSE followers of this web process")
        followers.add_metric([], self.follower_count())
        yield followers
        trims = CounterMetricFamily("scrapestream_heap_trims",
                                    "Times this web process handed freed heap back to the OS after dropped followers")
        trims.add_metric([], heap_trims())
        yield trims
        if not stats:
            return
        queued = GaugeMetricFamily("scrapestream_queued_jobs", "Jobs waiting in the queue", labels=["priority"])
        for priority, count in stats["queued"]["by_priority"].items():
            queued.add_metric([priority], count)
        yield queued
        # Per job kind, for pools sized per kind: what waits, what runs, and how many live workers take it.
        for name, help_text in (("queued", "Jobs waiting in the queue, by job kind"),
                                ("running", "Jobs running now, by job kind"),
                                ("workers", "Live workers that take the job kind")):
            gauge = GaugeMetricFamily(f"scrapestream_kind_{name}", help_text, labels=["kind"])
            for kind, counts in stats["kinds"].items():
                gauge.add_metric([kind], counts[name])
            yield gauge
        for name, help_text in (("scheduled", "Jobs waiting for their start time"),
                                ("retrying", "Jobs waiting out a retry delay"),
                                ("running", "Jobs running now (their lease is held), not counted as queued"),
                                ("workers", "Live workers")):
            gauge = GaugeMetricFamily(f"scrapestream_{name}", help_text)
            gauge.add_metric([], stats[name])
            yield gauge
        ended = CounterMetricFamily("scrapestream_jobs_ended", "Jobs that ended, by outcome", labels=["status"])
        for status in ("completed", "failed", "cancelled"):
            ended.add_metric([status], stats[status])
        yield ended
        # Counted by workers as they throw payloads out (jobs.worker.poison), whether or not a job had them.
        invalid = CounterMetricFamily("scrapestream_invalid_payloads",
                                      "arq payloads workers could not run (not JSON, wrong shape, unknown function)")
        invalid.add_metric([], stats["invalid_payloads"])
        yield invalid


class Metrics:
    def __init__(self, follower_count: Any) -> None:
        self.registry = CollectorRegistry()
        self.submitted = Counter("scrapestream_jobs_submitted", "Jobs accepted by this web process",
                                 ["type"], registry=self.registry)
        self.queue = QueueCollector(follower_count)
        self.registry.register(self.queue)

    def render(self, stats: dict[str, Any] | None) -> bytes:
        self.queue.stats = stats or {}
        return generate_latest(self.registry)
