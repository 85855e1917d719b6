"""How a job record's timestamps read in JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from jobs.models import JobRecord


def test_timestamps_on_a_whole_second_keep_their_milliseconds() -> None:
    """A record created on a whole second read `…:21Z` while its start read `…:21.004Z`.

    Clients (and our own lifecycle test) compare these as strings, and "Z" sorts
    after ".", so the job seemed to start before it was created.
    """
    created = datetime(2026, 12, 5, 22, 4, 21, tzinfo=UTC)
    record = JobRecord(id="a", type="scrape", status="running", created_at=created,
                       started_at=created + timedelta(milliseconds=4))
    body = record.model_dump(mode="json")
    assert body["created_at"] == "2026-12-05T22:04:21.000Z"
    assert body["started_at"] == "2026-12-05T22:04:21.004Z"
    assert body["created_at"] <= body["started_at"]
    assert body["finished_at"] is None


def test_timestamps_are_given_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    record = JobRecord(id="a", type="scrape", status="queued",
                       created_at=datetime(2026, 12, 5, 23, 0, 0, 123456, tzinfo=paris))
    assert record.model_dump(mode="json")["created_at"] == "2026-12-05T22:00:00.123Z"
