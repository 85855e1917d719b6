"""The public names of jobs.fetch, so that a drift is a decision."""

from __future__ import annotations

import jobs.fetch


def test_public_names_do_not_drift() -> None:
    assert jobs.fetch.__all__ == [
        "AddressPolicy",
        "FetchLimits",
        "FetchedPage",
        "PageFetcher",
        "Resolver",
        "SystemResolver",
        "guarded_client",
        "read_body",
        "translate_error",
        "validate_url",
    ]
    assert jobs.fetch.__all__ == sorted(jobs.fetch.__all__)
    for name in jobs.fetch.__all__:
        assert getattr(jobs.fetch, name) is not None
