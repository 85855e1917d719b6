"""jsonschema validation that a hostile schema and a hostile answer cannot make hang a worker.

The client writes the schema and the prompt, so it can also steer the answer:
two ways to hold the event loop follow. Patterns: jsonschema runs `pattern` and
`patternProperties` on Python's backtracking `re`, where "^(a+)+$" against forty
a's and a "!" takes hours. Here they run on RE2 (google-re2: linear time, no
lookaround or backreferences), which `check_schema` compiles every pattern with
first. Work: `$ref`s let a 1 KB schema fan out exponentially ("anyOf" of two refs
to a definition that is itself such an "anyOf", forty deep), so every keyword
checks a deadline, and validation past VALIDATION_BUDGET_S stops.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import time
from collections.abc import Callable, Iterator
from typing import Any

from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import extend

from jobs.re2_patterns import UnusablePattern, compile_client_pattern

VALIDATION_BUDGET_S = 1.0

_deadline: contextvars.ContextVar[float] = contextvars.ContextVar("validation_deadline", default=math.inf)

Keyword = Callable[[Any, Any, Any, dict[str, Any]], Any]
_bounded_classes: dict[object, type[Validator]] = {}


class ValidationTooSlow(Exception):
    """Validation ran past its deadline."""


def compile_pattern(pattern: str) -> Any:
    """The RE2 program for a schema pattern; ValueError saying why RE2 refuses it."""
    try:
        return _compiled(pattern)
    except UnusablePattern as exc:
        raise ValueError(
            f"pattern {pattern[:100]!r} cannot be used ({exc.reason}); patterns run on RE2: "
            "no lookaround or backreferences"
        ) from None


@contextlib.contextmanager
def validation_deadline(seconds: float = VALIDATION_BUDGET_S) -> Iterator[None]:
    """Within this block, bounded validators raise ValidationTooSlow once `seconds` have passed."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def bounded_validator_class(cls: type[Validator]) -> type[Validator]:
    """`cls` with RE2 for patterns and a deadline check in every keyword (made once per draft)."""
    made = _bounded_classes.get(cls)
    if made is None:
        made = _bounded_classes[cls] = _make_bounded(cls)
    return made


def _make_bounded(cls: type[Validator]) -> type[Validator]:
    keywords: dict[str, Keyword] = dict(cls.VALIDATORS)
    plain_additional = keywords.get("additionalProperties")
    keywords["pattern"] = _pattern
    keywords["patternProperties"] = _pattern_properties
    if plain_additional is not None:
        keywords["additionalProperties"] = functools.partial(_additional_properties, plain_additional)
    bounded: type[Validator] = extend(cls, {name: _with_deadline(keyword) for name, keyword in keywords.items()})
    return bounded


def _with_deadline(keyword: Keyword) -> Keyword:
    def bounded(validator: Any, value: Any, instance: Any, schema: dict[str, Any]) -> Any:
        if time.monotonic() > _deadline.get():
            raise ValidationTooSlow
        return keyword(validator, value, instance, schema)

    return bounded


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _search(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    plain: Keyword, validator: Any, allowed: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's own, which matches patternProperties with `re`: only used when there are none."""
    if "patternProperties" not in schema:
        yield from plain(validator, allowed, instance, schema) or ()
        return
    if not validator.is_type(instance, "object"):
        return
    properties = schema.get("properties", {})
    patterns = schema["patternProperties"]
    extras = sorted(
        key for key in instance if key not in properties and not any(_search(pattern, key) for pattern in patterns)
    )
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        verb = "does" if len(extras) == 1 else "do"
        joined = ", ".join(repr(extra) for extra in extras)
        yield ValidationError(f"{joined} {verb} not match any of the regexes: {', '.join(map(repr, sorted(patterns)))}")


def _search(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    return compile_client_pattern(pattern)
