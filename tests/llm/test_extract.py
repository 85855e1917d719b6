"""extract(): the fallback ladder and its memory, the repair turn, and every way it ends in LLMError."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.errors import LLMError
from jobs.llm import LLMClient, LLMUsage, OutputMode
from tests.support.servers import bound_socket

from .conftest import PRODUCT, PRODUCT_SCHEMA, ClientFactory
from .stub import Reply, StubLLM

PAGE = "Widget — a fine blue widget. Price: 9.50 EUR."


async def extract(llm: LLMClient, schema: dict[str, Any] = PRODUCT_SCHEMA) -> tuple[Any, LLMUsage]:
    return await llm.extract(PAGE, schema, "The product on this page.", url="https://shop.example/widget")


def served(stub: StubLLM) -> LLMUsage:
    total = LLMUsage()
    for usage in stub.served_usage:
        total += LLMUsage(**usage)
    return total


async def test_a_server_with_structured_output_answers_in_one_request(stub: StubLLM, llm: LLMClient) -> None:
    data, usage = await extract(llm)

    assert data == PRODUCT
    assert len(stub.requests) == 1
    assert stub.response_formats == [
        {"type": "json_schema", "json_schema": {"name": "extraction", "schema": PRODUCT_SCHEMA, "strict": False}}
    ]
    assert stub.requests[0]["model"] == "stub-model"
    assert usage == served(stub) and usage.total_tokens > 0
    assert llm.output_mode is OutputMode.JSON_SCHEMA


async def test_without_json_schema_it_falls_back_to_json_object_and_remembers(stub: StubLLM, llm: LLMClient) -> None:
    stub.no_json_schema()

    assert (await extract(llm))[0] == PRODUCT
    assert [rf["type"] for rf in stub.response_formats] == ["json_schema", "json_object"]
    assert llm.output_mode is OutputMode.JSON_OBJECT

    assert (await extract(llm))[0] == PRODUCT
    assert [rf["type"] for rf in stub.response_formats[2:]] == ["json_object"]


async def test_without_response_format_it_falls_back_to_a_plain_prompt_and_remembers(
    stub: StubLLM, llm: LLMClient
) -> None:
    stub.no_response_format()

    data, usage = await extract(llm)
    assert data == PRODUCT  # found inside the ```json fence of a chatty reply
    assert [rf and rf["type"] for rf in stub.response_formats] == ["json_schema", "json_object", None]
    assert llm.output_mode is OutputMode.PROMPT
    assert usage == served(stub)  # refusals cost nothing

    assert (await extract(llm))[0] == PRODUCT
    assert stub.response_formats[3:] == [None]
    assert "matching this JSON Schema" in stub.requests[3]["messages"][1]["content"]  # the schema rides in the prompt


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"error": {"message": "json_schema response format is not supported for this model"}}),
        (400, {"error": {"message": "Invalid value", "param": "response_format.type"}}),
        (422, {"detail": [{"loc": ["body", "response_format", "type"], "msg": "unexpected value 'json_schema'"}]}),
        (400, {"object": "error", "message": "Structured outputs are not supported", "code": 400}),
        (500, {"error": "guided_json: grammar backend failed to compile"}),
    ],
    ids=["openai-style", "param-only", "pydantic-422", "vllm-style", "grammar-500"],
)
async def test_refusals_are_recognised_however_a_server_words_them(
    stub: StubLLM, llm: LLMClient, status: int, body: Any
) -> None:
    stub.no_json_schema(status, body)

    assert (await extract(llm))[0] == PRODUCT
    assert [rf["type"] for rf in stub.response_formats] == ["json_schema", "json_object"]


async def test_strict_is_asked_only_for_schemas_inside_openais_strict_subset(stub: StubLLM, llm: LLMClient) -> None:
    closed = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "price": {"type": ["number", "null"]}},
        "required": ["name", "price"],
        "additionalProperties": False,
    }
    stub.canned = {"name": "Widget", "price": None}

    await extract(llm, closed)
    await extract(llm, {**closed, "required": ["name"]})

    assert [rf["json_schema"]["strict"] for rf in stub.response_formats] == [True, False]


async def test_a_schema_strict_mode_rejects_is_sent_again_without_strict(stub: StubLLM, llm: LLMClient) -> None:
    """OpenAI refuses some strict schemas ("Invalid schema for response_format"): no reason to leave json_schema."""
    message = "Invalid schema for response_format 'extraction': In context=(), 'format' is not permitted."
    stub.refuse_strict = (400, {"error": {"message": message, "param": "response_format"}})
    closed = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"],
              "additionalProperties": False}
    stub.canned = {"name": "Widget"}

    assert (await extract(llm, closed))[0] == {"name": "Widget"}
    assert [rf["json_schema"]["strict"] for rf in stub.response_formats] == [True, False]
    assert llm.output_mode is OutputMode.JSON_SCHEMA


async def test_a_refusal_that_blames_the_schema_is_not_remembered(stub: StubLLM, llm: LLMClient) -> None:
    stub.no_json_schema(400, {"error": {"message": "Invalid schema for response_format 'extraction': too complex"}})

    assert (await extract(llm))[0] == PRODUCT
    assert llm.output_mode is OutputMode.JSON_SCHEMA  # the next schema may be fine
    await extract(llm)
    assert [rf["type"] for rf in stub.response_formats] == ["json_schema", "json_object"] * 2


async def test_an_answer_off_the_schema_gets_one_repair(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(content='{"name": "Widget", "price": "cheap"}'), Reply()]

    data, usage = await extract(llm)

    assert data == PRODUCT
    assert len(stub.requests) == 2
    repair = stub.requests[1]["messages"]
    assert repair[-2] == {"role": "assistant", "content": '{"name": "Widget", "price": "cheap"}'}
    assert repair[-1]["role"] == "user" and "$.price: 'cheap' is not of type 'number'" in repair[-1]["content"]
    assert repair[-1]["content"].count("$.") == 1  # only what is wrong, not the whole schema again
    assert usage == served(stub) and len(stub.served_usage) == 2


async def test_an_answer_that_is_not_json_gets_one_repair(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(content="I could not find a price, sorry."), Reply()]

    assert (await extract(llm))[0] == PRODUCT
    assert "not valid JSON" in stub.requests[1]["messages"][-1]["content"]


async def test_an_answer_still_off_the_schema_after_the_repair_is_an_error(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(content='{"name": "Widget"}'), Reply(content='{"name": "Widget", "price": -1}')]

    with pytest.raises(LLMError, match=r"did not match the schema after one repair attempt: \$\.price: -1 is less"):
        await extract(llm)
    assert len(stub.requests) == 2


async def test_an_answer_still_not_json_after_the_repair_is_an_error(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(content="{'name': 'Widget'}"), Reply(content='{"name": "Widget", "price": NaN}')]

    with pytest.raises(LLMError, match="was not JSON after one repair attempt"):
        await extract(llm)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply(content='{"name": "Widget", "pri', finish_reason="length"), "cut off"),
        (Reply(refusal="I can't help with that."), "the model refused: I can't help with that."),
        (Reply(content="", finish_reason="content_filter"), "content filter"),
    ],
    ids=["truncated", "refusal", "content-filter"],
)
async def test_truncated_and_refused_answers_are_errors_without_a_repair(
    stub: StubLLM, llm: LLMClient, reply: Reply, message: str
) -> None:
    stub.replies = [reply]

    with pytest.raises(LLMError, match=message):
        await extract(llm)
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "could not be used"),
        (b"[1, 2]", "not a chat completion"),
        (b'{"id": "x", "choices": []}', "no choices"),
        (b'{"choices": [{"index": 0, "message": null, "finish_reason": "stop"}]}', "was not JSON after one repair"),
    ],
    ids=["not-json", "not-an-object", "no-choices", "no-message"],
)
async def test_a_garbled_answer_is_an_error(stub: StubLLM, llm: LLMClient, raw: bytes, message: str) -> None:
    stub.replies = [Reply(raw=raw), Reply(raw=raw)]

    with pytest.raises(LLMError, match=message):
        await extract(llm)


async def test_a_server_slower_than_the_timeout_is_an_error_and_not_retried(
    stub: StubLLM, make_client: ClientFactory
) -> None:
    stub.replies = [Reply(hold=True)]
    llm = make_client(timeout_s=0.3, max_attempts=3)

    with pytest.raises(LLMError, match=r"did not answer within 0\.3 s"):
        await extract(llm)
    assert len(stub.requests) == 1


async def test_server_errors_are_retried_up_to_max_attempts(stub: StubLLM, make_client: ClientFactory) -> None:
    stub.replies = [Reply(status=500)] * 5

    with pytest.raises(LLMError, match=r"HTTP 500: .*\(after 3 attempts\)"):
        await extract(make_client(max_attempts=3))
    assert len(stub.requests) == 3


async def test_a_server_error_then_an_answer_succeeds(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(status=503)]

    assert (await extract(llm))[0] == PRODUCT
    assert len(stub.requests) == 2


@pytest.mark.parametrize("retry_after", ["\u00b2", "-1", "1e3", "soon", "0"])
async def test_a_retry_after_of_any_shape_is_survived(retry_after: str, stub: StubLLM, llm: LLMClient) -> None:
    """Only ASCII delta-seconds or an HTTP-date count; anything else falls back to the backoff."""
    stub.replies = [Reply(status=429, headers={"Retry-After": retry_after})]

    assert (await extract(llm))[0] == PRODUCT
    assert len(stub.requests) == 2


async def test_a_rejected_key_is_an_error_at_once(stub: StubLLM, llm: LLMClient) -> None:
    stub.replies = [Reply(status=401, error={"error": {"message": "Incorrect API key provided"}})]

    with pytest.raises(LLMError, match=r"HTTP 401: .*Incorrect API key provided; check OPENAI_API_KEY"):
        await extract(llm)
    assert len(stub.requests) == 1


async def test_an_unreachable_server_is_an_error_after_max_attempts(make_client: ClientFactory) -> None:
    with bound_socket() as sock:  # bound, never listening: connections are refused
        host, port = sock.getsockname()
        llm = make_client(base_url=f"http://{host}:{port}/v1", max_attempts=2)

        with pytest.raises(LLMError, match=r"could not reach the LLM server \(after 2 attempts\)"):
            await extract(llm)


async def test_an_invalid_schema_is_an_error_before_any_request(stub: StubLLM, llm: LLMClient) -> None:
    with pytest.raises(LLMError, match=r"schema was refused: .*points outside the schema"):
        await extract(llm, {"type": "object", "properties": {"a": {"$ref": "https://schemas.example/a.json"}}})
    assert stub.requests == []

