"""A resolver that plays DNS from a table: rebinding and failures on demand."""

from __future__ import annotations

import socket
from collections.abc import Callable


class FakeDNS:
    """Plays DNS: answers from a table, or from a function of how often a name was asked."""

    def __init__(self, answers: dict[str, list[str] | Callable[[int], list[str]]]) -> None:
        self._answers = answers
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answer = self._answers.get(host)
        if answer is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answer(self.lookups.count(host)) if callable(answer) else list(answer)
