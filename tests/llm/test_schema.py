"""check_schema, the strict-mode judgement, answer validation and lenient reading of replies."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.llm import check_schema
from jobs.llm.replies import parse_json_reply
from jobs.llm.schema import MAX_SCHEMA_BYTES, answer_problems, qualifies_for_strict

from .conftest import PRODUCT_SCHEMA


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object"}
    node = schema
    for _ in range(levels):
        node["properties"] = {"child": {"type": "object"}}
        node = node["properties"]["child"]
    return schema


@pytest.mark.parametrize(
    "schema",
    [
        PRODUCT_SCHEMA,
        {"type": "object"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
         "properties": {"items": {"type": "array", "items": {"$ref": "#/definitions/item"}}},
         "definitions": {"item": {"type": "string"}}},
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/a~1b"}}, "$defs": {"a/b": {"type": "integer"}}},
        {"type": "object", "properties": {"email": {"type": "string", "format": "email", "pattern": "^[^@]+@"}}},
        nested(20),
    ],
    ids=["product", "bare-object", "draft-07-definitions", "escaped-pointer", "format-and-pattern", "20-deep"],
)
def test_valid_object_schemas_are_accepted_unchanged(schema: dict[str, Any]) -> None:
    assert check_schema(schema) is schema


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ("not a schema", "must be a JSON object"),
        (True, "must be a JSON object"),
        ({"type": "array", "items": {"type": "string"}}, r'must describe an object \("type": "object"\)'),
        ({"properties": {"a": {"type": "string"}}}, "must describe an object"),
        ({"type": "object", "properties": {"a": {"type": "strung"}}},
         r"not a valid JSON Schema: .*at \$\.properties\.a\.type"),
        ({"type": "object", "required": "name"}, r"not a valid JSON Schema: 'name' is not of type 'array'"),
        ({"type": "object", "properties": {"a": {"pattern": "(unclosed"}}}, "is not a 'regex'"),
        ({"$schema": "https://example.com/my-dialect", "type": "object"}, "unknown \\$schema"),
        ({"$schema": 7, "type": "object"}, r"\$schema must be a string"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, "does not point at anything"),
        ({"type": "object", "minimum": float("nan")}, "not plain JSON"),
        ({"type": "object", 1: "x"}, "keys must be strings"),
        (nested(40), "nested more than 64 levels"),
    ],
    ids=["string", "boolean", "array", "no-type", "bad-type", "bad-required", "bad-regex", "unknown-dialect",
         "dialect-not-string", "dangling-ref", "nan", "int-key", "too-deep"],
)
def test_invalid_schemas_are_refused_with_a_reason(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_schema(schema)


def test_the_size_limit_is_on_compact_utf8_json() -> None:
    filler = "é" * ((MAX_SCHEMA_BYTES - 100) // 2)
    check_schema({"type": "object", "description": filler})
    with pytest.raises(ValueError, match="the limit is 65536"):
        check_schema({"type": "object", "description": filler + "é" * 100})


@pytest.mark.parametrize(
    ("schema", "strict"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "additionalProperties": False},
         True),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}, False),
        ({"type": "object", "properties": {"a": {"type": "string"}}, "required": [], "additionalProperties": False},
         False),
        ({"type": "object", "properties": {"a": {"type": "string", "minLength": 1}}, "required": ["a"],
          "additionalProperties": False}, False),
        ({"type": "object", "additionalProperties": False,
          "properties": {"list": {"type": "array", "items": {"$ref": "#/$defs/row"}},
                         "kind": {"enum": ["a", "b"]}, "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
          "required": ["list", "kind", "note"],
          "$defs": {"row": {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"],
                            "additionalProperties": False}}},
         True),
        ({"type": "object", "additionalProperties": False, "required": ["row"],
          "properties": {"row": {"type": "object", "properties": {"x": {"type": "number"}}}}},
         False),
        ({"type": "object", "anyOf": [{"required": ["a"]}], "properties": {}, "required": [],
          "additionalProperties": False}, False),
    ],
    ids=["closed", "open", "not-all-required", "unsupported-keyword", "refs-enums-anyof", "open-child", "root-anyof"],
)
def test_strict_is_for_schemas_plainly_inside_the_strict_subset(schema: dict[str, Any], strict: bool) -> None:
    check_schema(schema)
    assert qualifies_for_strict(schema) is strict


def test_answer_problems_say_where_and_what() -> None:
    assert answer_problems({"name": "Widget", "price": 1}, PRODUCT_SCHEMA) == []
    assert answer_problems({"price": -1, "tags": [3]}, PRODUCT_SCHEMA) == [
        "$: 'name' is a required property",
        "$.price: -1 is less than the minimum of 0",
        "$.tags[0]: 3 is not of type 'string'",
    ]


def test_answer_problems_are_few_and_short() -> None:
    problems = answer_problems({"name": "x" * 10_000, "price": "y" * 10_000, "tags": list(range(100))}, PRODUCT_SCHEMA)
    assert len(problems) == 10
    assert all(len(problem) < 330 for problem in problems)


@pytest.mark.parametrize(
    "reply",
    [
        '{"name": "Widget"}',
        '  \ufeff{"name": "Widget"}\n',
        'Here you go:\n```json\n{"name": "Widget"}\n```\nEnjoy!',
        '```\n{"name": "Widget"}\n```',
        'The answer is {"name": "Widget"} as requested.',
        'Thinking {not json} ... final: {"name": "Widget"} done {"other": 1}',
        '<think>The page says {"name": "Gadget"}? No, it is a widget.</think>\n{"name": "Widget"}',
    ],
    ids=["bare", "bom-and-space", "json-fence", "plain-fence", "inline", "first-object-that-parses", "think-block"],
)
def test_replies_are_read_leniently(reply: str) -> None:
    assert parse_json_reply(reply) == {"name": "Widget"}


@pytest.mark.parametrize(
    "reply",
    ["", "   ", "No data found.", '{"price": NaN}', "{'single': 'quotes'}", "{" * 50_000, '{"n": ' + "9" * 5000 + "}"],
    ids=["empty", "blank", "prose", "nan", "python-dict", "deeply-nested", "huge-int"],
)
def test_replies_without_json_are_refused(reply: str) -> None:
    with pytest.raises(ValueError):
        parse_json_reply(reply)
