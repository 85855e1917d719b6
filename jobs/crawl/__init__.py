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

from .frontier import Frontier, FrontierCounts
from .passages import split_passages
from .politeness import HostPoliteness
from .ranking import PassageAnswer, PassageRanker, best_passage_answer, rank_passages
from .robots import RobotsCache, RobotsRules
from .scope import ScopeRules, compile_path_patterns
from .sitemaps import parse_sitemap, sitemap_urls
from .tokens import tokenize
from .types import Fetch, FetchedBody
from .urls import dedupe_key, normalize_url

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
