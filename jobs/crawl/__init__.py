"""The pure building blocks of the `crawl` and `ask` jobs: no Redis, no job state.

    normalize_url(url, base) / dedupe_key     one spelling per page        urls.py
    ScopeRules(start, ...).allows(url)        which URLs belong to a crawl scope.py
    Frontier(limit=, max_depth=)              BFS queue, seen-set, limit   frontier.py
    RobotsCache(fetch).allowed(url, ua)       robots.txt per RFC 9309      robots.py
    HostPoliteness().slot(url)                per-host concurrency, delay  politeness.py
    sitemap_urls(fetch, start, sitemaps)      seeds from sitemaps          sitemaps.py
    split_passages / PassageRanker /          BM25 passages for `ask`      passages.py, ranking.py
    rank_passages / best_passage_answer

A crawl reads, per URL: scope, frontier, robots, politeness, then the fetcher.
"""

from jobs.crawl.frontier import Frontier, FrontierCounts
from jobs.crawl.passages import split_passages
from jobs.crawl.politeness import HostPoliteness
from jobs.crawl.ranking import PassageAnswer, PassageRanker, best_passage_answer, rank_passages
from jobs.crawl.robots import RobotsCache, RobotsRules
from jobs.crawl.scope import ScopeRules, compile_path_patterns
from jobs.crawl.sitemaps import parse_sitemap, sitemap_urls
from jobs.crawl.types import Fetch, FetchedBody
from jobs.crawl.url_normalize import dedupe_key, normalize_url
from jobs.crawl.words import tokenize

__all__ = [
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
