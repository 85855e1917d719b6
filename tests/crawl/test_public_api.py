"""The public names of jobs.crawl, so that a drift is a decision."""

from __future__ import annotations

import jobs.crawl
from tests.support.public_api import check_public_api


def test_public_names_do_not_drift() -> None:
    assert jobs.crawl.__all__ == [
        "Fetch",
        "FetchedBody",
        "Frontier",
        "FrontierCounts",
        "HostPoliteness",
        "PassageAnswer",
        "PassageRanker",
        "RobotsCache",
        "RobotsRules",
        "ScopeRules",
        "best_passage_answer",
        "compile_path_patterns",
        "dedupe_key",
        "normalize_url",
        "parse_sitemap",
        "rank_passages",
        "sitemap_urls",
        "split_passages",
        "tokenize",
    ]
    check_public_api(jobs.crawl)
