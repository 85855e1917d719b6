"""The public names of jobs.fetch, so that a drift is a decision."""

from __future__ import annotations

import jobs.fetch
from tests.support.public_api import check_public_api


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
    check_public_api(jobs.fetch)
