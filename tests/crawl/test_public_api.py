"""The public names of jobs.crawl, so that a drift is a decision."""

from __future__ import annotations

import jobs.crawl


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
    assert jobs.crawl.__all__ == sorted(jobs.crawl.__all__)
    for name in jobs.crawl.__all__:
        assert getattr(jobs.crawl, name) is not None
