"""A fetch callable that answers from a table, and counts what it was asked."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from jobs.errors import JobError


@dataclass(frozen=True)
class Answer:
    status: int = 200
    content: bytes = b""


class TableFetch:
    """`fetch(url)` from a {url: Answer | JobError} table; anything else is a 404 answer."""

    def __init__(self, table: dict[str, Answer | JobError]) -> None:
        self.table = table
        self.calls: Counter[str] = Counter()

    async def __call__(self, url: str) -> Answer:
        self.calls[url] += 1
        await asyncio.sleep(0)  # a real fetch yields to the loop
        answer = self.table.get(url, Answer(404))
        if isinstance(answer, JobError):
            raise answer
        return answer
