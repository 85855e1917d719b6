"""Rank passages of crawled pages against a question with Okapi BM25: no model, no network.

BM25 (k1 = 1.5, b = 0.75, Lucene's always-positive idf) scores each passage by
the question's terms it holds, rare terms weighing more and long passages less.
A paragraph found word for word on several pages (a footer, a cookie banner)
is indexed once, for the first page that has it.

`PassageRanker` takes pages one at a time, so an `ask` over a crawl never holds
every page: it keeps only passages that share a term with the question, plus
counts. Past `max_candidates` kept passages, the one with the lowest score so
far gives way; scores are exact below that cap and close above it.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from jobs.crawl.passages import DEFAULT_MAX_CHARS, split_passages
from jobs.crawl.words import tokenize

K1 = 1.5
B = 0.75
MAX_CANDIDATES = 5000
MIN_REPEATED_CHARS = 40  # shorter paragraphs (headings, "Read more") repeat without being boilerplate


class PassageAnswer(TypedDict):
    question: str
    answer: str | None  # None when no passage shares a term with the question
    sources: list[str]


@dataclass(frozen=True, slots=True)
class _Candidate:
    order: int  # page order, then passage order: breaks ties
    url: str
    passage: str
    length: int  # terms in the passage
    counts: Counter[str]  # the question's terms in it


class PassageRanker:
    """BM25 over passages added page by page, for one question."""

    def __init__(
        self, question: str, *, max_chars: int = DEFAULT_MAX_CHARS, max_candidates: int = MAX_CANDIDATES
    ) -> None:
        self.question = question
        self._query = frozenset(tokenize(question))
        self._max_chars = max_chars
        self._max_candidates = max_candidates
        self._heap: list[tuple[float, int, _Candidate]] = []  # (provisional score, -order, ...)
        self._seen: set[int] = set()  # hashes of paragraphs already indexed
        self._order = itertools.count()
        self._passages = 0
        self._total_length = 0
        self._frequency: Counter[str] = Counter()  # passages holding each question term

    def add(self, url: str, markdown: str | None) -> None:
        """Index the passages of one page."""
        for passage in split_passages(self._new_paragraphs(markdown or ""), max_chars=self._max_chars):
            terms = tokenize(passage)
            self._passages += 1
            self._total_length += len(terms)
            counts = Counter(term for term in terms if term in self._query)
            if not counts:
                continue
            self._frequency.update(counts.keys())
            order = next(self._order)
            candidate = _Candidate(order, url, passage, len(terms), counts)
            entry = (self._score(candidate), -order, candidate)
            if len(self._heap) < self._max_candidates:
                heapq.heappush(self._heap, entry)
            else:
                heapq.heappushpop(self._heap, entry)

    def _new_paragraphs(self, markdown: str) -> str:
        """The page without paragraphs an earlier page had; headings and short lines always stay."""
        kept = []
        for paragraph in markdown.split("\n\n"):
            if len(paragraph) >= MIN_REPEATED_CHARS:
                fingerprint = hash(paragraph.strip())
                if fingerprint in self._seen:
                    continue
                self._seen.add(fingerprint)
            kept.append(paragraph)
        return "\n\n".join(kept)

    def top(self, k: int = 5) -> list[tuple[str, str, float]]:
        """The `k` best (url, passage, score), best first; ties keep page order."""
        scored = sorted(
            ((self._score(candidate), candidate) for _, _, candidate in self._heap),
            key=lambda pair: (-pair[0], pair[1].order),
        )
        return [(candidate.url, candidate.passage, score) for score, candidate in scored[: max(k, 0)]]

    def _score(self, candidate: _Candidate) -> float:
        average = self._total_length / self._passages or 1.0
        norm = K1 * (1 - B + B * candidate.length / average)
        score = 0.0
        for term, tf in candidate.counts.items():
            df = self._frequency[term]
            idf = math.log(1 + (self._passages - df + 0.5) / (df + 0.5))
            score += idf * tf * (K1 + 1) / (tf + norm)
        return score


def rank_passages(
    question: str, docs: Sequence[tuple[str, str]], top_k: int = 5, *, max_chars: int = DEFAULT_MAX_CHARS
) -> list[tuple[str, str, float]]:
    """The `top_k` best (url, passage, score) for `question` among `docs` of (url, markdown).

    Best first; ties keep document order. Passages sharing no term with the question are left out.
    """
    ranker = PassageRanker(question, max_chars=max_chars)
    for url, markdown in docs:
        ranker.add(url, markdown)
    return ranker.top(top_k)


def best_passage_answer(question: str, docs: Sequence[tuple[str, str]]) -> PassageAnswer:
    """The answer of an `ask` job when no LLM is configured: the best passage, citing its page."""
    ranked = rank_passages(question, docs, top_k=1)
    if not ranked:
        return {"question": question, "answer": None, "sources": []}
    url, passage, _ = ranked[0]
    return {"question": question, "answer": passage, "sources": [url]}
