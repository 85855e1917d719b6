"""Token usage of LLM calls, summed over every call one job made (repairs included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LLMUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )

    @classmethod
    def of(cls, usage: Any) -> LLMUsage:
        """From a completion's `usage` (None, or counts missing, on servers that do not report them)."""
        if usage is None:
            return cls()
        prompt = _count(getattr(usage, "prompt_tokens", 0))
        completion = _count(getattr(usage, "completion_tokens", 0))
        total = _count(getattr(usage, "total_tokens", 0)) or prompt + completion
        return cls(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)

    def to_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
        }


def _count(value: Any) -> int:
    # The SDK does not validate responses: a server may send null, a float or a string here.
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
