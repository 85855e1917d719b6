"""The client's JSON Schema: hostile input, checked before use, then the judge of every answer.

    check_schema(schema) -> schema        ValueError with a message a client can act on (422)
    answer_problems(answer, schema)       what is wrong with an answer, [] when it conforms
    qualifies_for_strict(schema)          whether to ask OpenAI-style servers for `strict: true`

What a schema must be: a JSON object of at most MAX_SCHEMA_BYTES (compact UTF-8
JSON) and MAX_SCHEMA_DEPTH levels, a valid schema of its `$schema` draft (2020-12
when absent; an unknown `$schema` is refused rather than guessed), describing an
object (`"type": "object"`: every fallback rung, `json_object` included, yields an
object). References must stay inside the schema: jsonschema's default registry
*fetches* remote `$ref`s with urllib, which would let a client make the worker
fetch any URL, so a non-local `$ref` is refused here and answers are validated
with a registry that retrieves nothing. Patterns must compile on RE2, and
validation has a time budget (see `jobs.llm.bounded`): a schema cannot make
checking an answer hang a worker.

Formats are annotations, as JSON Schema 2020-12 has them by default: `"format":
"email"` is passed to the model, not asserted on its answer.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import unquote

import referencing
import referencing.exceptions
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import Draft202012Validator, validator_for

from jobs.llm.bounded import (
    VALIDATION_BUDGET_S,
    ValidationTooSlow,
    bounded_validator_class,
    compile_pattern,
    validation_deadline,
)

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 64
MAX_PROBLEMS = 10
"""How many validation errors are reported (to the model for a repair, to the client in an LLMError)."""

_REF_KEYWORDS = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})
_NO_RETRIEVAL: referencing.Registry[Any] = referencing.Registry()
_STRICT_KEYWORDS = frozenset(
    {
        "$defs", "$ref", "$schema", "additionalProperties", "anyOf", "const", "definitions", "description",
        "enum", "items", "properties", "required", "title", "type",
    }
)
_STRICT_MAX_DEPTH = 10


def check_schema(schema: Any) -> dict[str, Any]:
    """`schema`, once it is known to be a bounded, valid, self-contained JSON Schema of an object."""
    if not isinstance(schema, dict):
        raise ValueError('the schema must be a JSON object: a JSON Schema with "type": "object"')
    found = _walk(schema)
    size = _serialized_size(schema)
    if size > MAX_SCHEMA_BYTES:
        raise ValueError(f"the schema is {size} bytes as compact JSON; the limit is {MAX_SCHEMA_BYTES}")
    validator_class = _validator_class(schema)
    try:
        validator_class.check_schema(schema)
    except SchemaError as exc:
        raise ValueError(f"not a valid JSON Schema: {_clip(exc.message)} (at {exc.json_path})") from None
    if schema.get("type") != "object":
        raise ValueError('the schema must describe an object ("type": "object"); wrap a list in a property')
    for pattern in found.patterns:
        compile_pattern(pattern)
    if {"unevaluatedProperties", "patternProperties"} <= found.keywords:
        # jsonschema matches patternProperties with Python's backtracking `re` when it evaluates these.
        raise ValueError("unevaluatedProperties cannot be combined with patternProperties; use additionalProperties")
    for ref in found.refs:
        if not ref.startswith("#"):
            raise ValueError(
                f"$ref {_clip(ref, 100)!r} points outside the schema; only local references such as "
                '"#/$defs/item" are allowed (a schema never makes the service fetch anything)'
            )
        if ref.startswith("#/") and "$id" not in found.nested_keywords and not _pointer_resolves(schema, ref[1:]):
            raise ValueError(f"$ref {_clip(ref, 100)!r} does not point at anything in the schema")
    return schema


def answer_problems(answer: Any, schema: dict[str, Any]) -> list[str]:
    """Up to MAX_PROBLEMS ways `answer` breaks `schema` (a checked one), as `$.path: message` lines."""
    validator = bounded_validator_class(_validator_class(schema))(schema, registry=_NO_RETRIEVAL)
    try:
        with validation_deadline():
            errors: list[ValidationError] = list(itertools.islice(validator.iter_errors(answer), 5 * MAX_PROBLEMS))
    except referencing.exceptions.Unresolvable as exc:
        raise ValueError(f"the schema has a reference that cannot be resolved: {_clip(str(exc))}") from exc
    except ValidationTooSlow:
        raise ValueError(f"checking an answer against the schema took over {VALIDATION_BUDGET_S:g} s") from None
    except RecursionError:
        return ["$: the answer is nested too deeply to validate"]
    errors.sort(key=lambda error: error.json_path)
    return [f"{error.json_path}: {_clip(error.message)}" for error in errors[:MAX_PROBLEMS]]


def qualifies_for_strict(schema: dict[str, Any]) -> bool:
    """Whether the schema is plainly inside the subset OpenAI's strict mode takes.

    Strict mode wants every object closed (`additionalProperties: false`) with all
    its properties required, and only some keywords; a schema outside that subset
    is refused with a 400. So strictness is asked for only when nothing is in doubt,
    and `strict: false` (the schema guides the model, our validator judges) otherwise.
    """
    return "anyOf" not in schema and _strict_node(schema, 0)


def _strict_node(node: Any, depth: int) -> bool:
    if not isinstance(node, dict) or not node.keys() <= _STRICT_KEYWORDS or depth > _STRICT_MAX_DEPTH:
        return False
    if "$ref" in node:
        return node.keys() <= {"$ref", "description", "title"}
    declared = node.get("type")
    types = {declared} if isinstance(declared, str) else set(declared) if isinstance(declared, list) else set()
    children: list[Any] = []
    if "object" in types:
        properties = node.get("properties")
        required = node.get("required")
        if not isinstance(properties, dict) or node.get("additionalProperties") is not False:
            return False
        if not isinstance(required, list) or sorted(map(str, required)) != sorted(properties):
            return False
        children += properties.values()
    elif "properties" in node or "additionalProperties" in node or "required" in node:
        return False
    if "array" in types:
        if not isinstance(node.get("items"), dict):
            return False
        children.append(node["items"])
    if not types and not node.keys() & {"enum", "const", "anyOf"}:
        return False
    if "anyOf" in node:
        if not isinstance(node["anyOf"], list):
            return False
        children += node["anyOf"]
    for defs in ("$defs", "definitions"):
        if defs in node:
            if not isinstance(node[defs], dict):
                return False
            children += node[defs].values()
    return all(_strict_node(child, depth + 1) for child in children)


@dataclass
class _Found:
    refs: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    keywords: set[str] = field(default_factory=set)  # every key anywhere
    nested_keywords: set[str] = field(default_factory=set)  # every key below the root


def _walk(schema: dict[str, Any]) -> _Found:
    """References, patterns and keys used anywhere in the schema; bounds depth first.

    Every string under a reference or pattern keyword counts, even inside `enum` or
    `const` data: a false alarm costs the client a clear 422, a miss a fetch or a hang.
    """
    found = _Found()
    stack: list[tuple[Any, int]] = [(schema, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_SCHEMA_DEPTH:
            raise ValueError(f"the schema is nested more than {MAX_SCHEMA_DEPTH} levels deep")
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise ValueError("the schema's keys must be strings")
                if key in _REF_KEYWORDS and isinstance(value, str):
                    found.refs.append(value)
                elif key == "pattern" and isinstance(value, str):
                    found.patterns.append(value)
                elif key == "patternProperties" and isinstance(value, dict):
                    found.patterns.extend(value)
                found.keywords.add(key)
                if node is not schema:
                    found.nested_keywords.add(key)
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
    return found


def _serialized_size(schema: dict[str, Any]) -> int:
    try:
        text = json.dumps(schema, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the schema is not plain JSON: {_clip(str(exc))}") from None
    return len(text.encode("utf-8", "surrogatepass"))


def _validator_class(schema: dict[str, Any]) -> type[Validator]:
    dialect = schema.get("$schema")
    if dialect is None:
        return cast(type[Validator], Draft202012Validator)
    if not isinstance(dialect, str):
        raise ValueError("$schema must be a string: the URI of a JSON Schema draft")
    # With a default given, validator_for returns it for an unknown URI instead of warning and guessing.
    found: type[Validator] | None = validator_for(schema, default=cast(Any, None))
    if found is None:
        raise ValueError(
            f"unknown $schema {_clip(dialect, 100)!r}; use a JSON Schema draft URI such as "
            '"https://json-schema.org/draft/2020-12/schema", or leave $schema out'
        )
    return found


def _pointer_resolves(document: Any, pointer: str) -> bool:
    """Whether the JSON Pointer (RFC 6901, `/a/b`; percent-encoding allowed as in a URI fragment) exists."""
    node = document
    for raw in unquote(pointer).split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and re.fullmatch(r"0|[1-9][0-9]{0,8}", token) and int(token) < len(node):
            node = node[int(token)]
        else:
            return False
    return True


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
