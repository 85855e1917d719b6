"""What the LLM layer is told at the edge: endpoint, model and the bounds on every call."""

from __future__ import annotations

from dataclasses import dataclass

OPENAI_BASE_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class LLMConfig:
    """OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL, plus the limits of one extraction.

    `timeout_s` bounds each request; `max_attempts` counts transport attempts per
    request (connection failures, 408/409/429/5xx); `token_budget` is how much page
    text (approximate tokens, see `jobs.llm.prompts`) one call may carry.
    """

    base_url: str | None
    api_key: str | None
    model: str
    timeout_s: float = 60.0
    max_attempts: int = 2
    token_budget: int = 6_000
    retry_backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.token_budget < 1:
            raise ValueError("token_budget must be at least 1")
        if self.retry_backoff_s < 0:
            raise ValueError("retry_backoff_s must not be negative")

    @property
    def configured(self) -> bool:
        """A model, and somewhere to send it: a base URL (local servers need no key) or an OpenAI key."""
        return bool(self.model.strip()) and bool(self.base_url or self.api_key)
