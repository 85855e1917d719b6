"""The LLM layer: JSON-Schema extraction and cited answers through any OpenAI-compatible server.

    client = LLMClient(LLMConfig(base_url, api_key, model))   # OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL
    data, usage = await client.extract(page_text, schema, prompt, url=url)
    text, cited_urls, usage = await client.answer(question, [(url, passage), ...])
    check_schema(schema)        # at submit: ValueError -> 422
    await client.aclose()

Only the Chat Completions API is used, which OpenAI, Ollama, vLLM, LM Studio and
llama.cpp all speak. Without a model, or without both base URL and key,
`client.configured` is False and callers skip LLM work; nothing else depends on it.

The fallback ladder. Structured output is asked for as
`response_format: {"type": "json_schema", ...}` (named "extraction"; `strict` only
when the schema is plainly inside OpenAI's strict subset, see
`schema.qualifies_for_strict`; a strict schema the server calls invalid is sent
once more without `strict`). A server that refuses it (a 400, 415 or 422, or a
500/501, whose error mentions response_format, json_schema, json_object,
structured output, guided decoding or grammar) is asked again with
`{"type": "json_object"}`, and one that refuses that too gets a plain prompt.
The schema is in the prompt on every rung, for servers that accept a
response_format and ignore it. A refused rung is
remembered per client, so later calls start lower and pay no refusal again; an
error that blames the schema itself ("Invalid schema for response_format") falls
back for that call only. Every reply is read leniently (code fences, prose around
the object) and validated against the schema with jsonschema; a failing reply gets
one repair turn carrying the validation errors. A refusal, a truncated answer, JSON
still invalid or off-schema after the repair, a timeout, an unreachable or failing
server: each ends as LLMError (translated from openai's errors in one place,
`LLMClient._send`), never as partial data. Usage is summed over every call.

Bounds: page text is cut to `token_budget` (estimated tokens, see `prompts`);
each request has `timeout_s` and at most `max_attempts` transport attempts (no
retry after a timeout); one extraction is two turns at most (the answer and one
repair), each walking down the ladder at most once: against a server that takes
its first rung, one or two requests.

Untrusted data. The page, and every passage, is hostile input: it reaches the
model only between markers carrying a per-call random nonce, after a system
message saying that text there is data and never instructions. No tools,
functions or tool_choice are ever sent, and the reply is only parsed as JSON or
read as text: nothing a page says can make the service fetch a URL or run
anything. The client's schema is hostile too: bounded, checked, and refused when
it refers outside itself (jsonschema would fetch remote `$ref`s); its patterns run
on RE2 and validation has a time budget (`bounded`), so no schema-and-answer pair
can hold a worker's event loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.llm.config import LLMConfig
from jobs.llm.prompts import cut_to_budget, estimate_tokens
from jobs.llm.schema import check_schema
from jobs.llm.usage import LLMUsage

if TYPE_CHECKING:
    from jobs.llm.client import LLMClient, OutputMode

__all__ = [
    "LLMClient",
    "LLMConfig",
    "LLMUsage",
    "OutputMode",
    "check_schema",
    "cut_to_budget",
    "estimate_tokens",
]


def __getattr__(name: str) -> Any:
    # The openai package takes most of a second to import; the API process needs check_schema only.
    if name in ("LLMClient", "OutputMode"):
        from jobs.llm import client

        return getattr(client, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
