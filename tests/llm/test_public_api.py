"""The package's public names, its configuration, the token estimate and the budget cut."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jobs.llm
from jobs.errors import LLMError
from jobs.llm import LLMClient, LLMConfig, LLMUsage, cut_to_budget, estimate_tokens
from tests.support.public_api import check_public_api

from .conftest import PRODUCT, PRODUCT_SCHEMA
from .stub import StubLLM


def test_public_names() -> None:
    assert jobs.llm.__all__ == [
        "LLMClient",
        "LLMConfig",
        "LLMUsage",
        "OutputMode",
        "check_schema",
        "cut_to_budget",
        "estimate_tokens",
    ]
    check_public_api(jobs.llm)


def test_importing_the_package_for_check_schema_does_not_load_openai() -> None:
    code = "import sys, jobs.llm; jobs.llm.check_schema({'type': 'object'}); print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize(
    ("base_url", "api_key", "model", "configured"),
    [
        ("http://127.0.0.1:11434/v1", None, "llama3.2", True),  # a local server needs no key
        (None, "sk-live", "gpt-4o-mini", True),  # OpenAI itself
        (None, None, "gpt-4o-mini", False),
        ("http://127.0.0.1:11434/v1", "sk", "  ", False),
        (None, None, "", False),
    ],
)
def test_configured_needs_a_model_and_an_endpoint(
    base_url: str | None, api_key: str | None, model: str, configured: bool
) -> None:
    assert LLMConfig(base_url, api_key, model).configured is configured


async def test_an_unconfigured_client_refuses_work_and_closes() -> None:
    async with LLMClient(LLMConfig(None, None, "")) as llm:
        assert not llm.configured
        with pytest.raises(LLMError, match="no LLM is configured"):
            await llm.extract("page", PRODUCT_SCHEMA, None, url="https://a.example/")
        with pytest.raises(LLMError, match="no LLM is configured"):
            await llm.answer("question?", [("https://a.example/", "text")])


async def test_a_base_url_without_a_key_works(stub: StubLLM) -> None:
    async with LLMClient(LLMConfig(stub.base_url, None, "llama3.2", retry_backoff_s=0)) as llm:
        assert (await llm.extract("A widget.", PRODUCT_SCHEMA, None, url="https://a.example/"))[0] == PRODUCT


@pytest.mark.parametrize("field", ["timeout_s", "max_attempts", "token_budget"])
def test_bounds_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        LLMConfig("http://127.0.0.1/v1", None, "m", **{field: 0})


def test_usage_adds_up() -> None:
    total = LLMUsage(10, 2, 12) + LLMUsage(5, 1, 6)
    assert total == LLMUsage(15, 3, 18)
    assert total.to_dict() == {"prompt_tokens": 15, "completion_tokens": 3, "total_tokens": 18}


def test_tokens_are_estimated_at_four_ascii_characters_and_one_other_character_each() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd" * 100) == 100
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("日本語") == 3
    assert estimate_tokens("Preis: 9 €") == 3 + 1


def test_cut_to_budget_keeps_short_text_and_cuts_long_text_at_a_word() -> None:
    assert cut_to_budget("short text", 100) == "short text"
    assert cut_to_budget("anything", 0) == ""
    assert cut_to_budget("alpha beta gamma delta epsilon", 4) == "alpha beta gamma"  # 16 characters fit
    assert cut_to_budget("alpha beta gamma delta epsilon", 3) == "alpha beta"  # not "alpha beta g"
    assert cut_to_budget("x" * 100, 5) == "x" * 20  # no word boundary near: cut mid-word
    mixed = "价格 price " * 1_000
    assert 320 <= estimate_tokens(cut_to_budget(mixed, 333)) <= 333
