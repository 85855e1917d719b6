"""arq job payloads as JSON, never pickle, and checked before a worker runs one.

Whoever can write to Redis must not be able to run code in a worker: a pickle
payload planted in `arq:job:<id>` fails to deserialize here and the job fails;
nothing in it is ever executed.

arq itself trusts a payload's shape: a JSON list, a string `t` or a `k` that
is not an object makes its `run_job` raise outside the job (the entry stays
queued and is picked up again and again), and arguments of the wrong type
reach the job function. `PayloadReader` checks all of it first: the shape
arq reads (`f`, `a`, `k`, `t`, `et`), the function's name, and the arguments
against the function's own signature and type hints.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from jobs.errors import InvalidPayload

# The field of the stats hash (Keyspace.stats) counting payloads that failed these checks.
INVALID_PAYLOADS_FIELD = "invalid_payloads"

# What a message may quote of a planted value: enough to recognize it, never a page of it.
_QUOTE_CHARS = 80


def serialize_job(obj: Any) -> bytes:
    # arq also serializes results and, when a job fails, the exception: those
    # become their text (we keep results ourselves, arq's copy is never read).
    return orjson.dumps(obj, default=repr)


def deserialize_job(raw: bytes) -> Any:
    return orjson.loads(raw)


@dataclass(frozen=True, slots=True)
class JobPayload:
    """A payload that passed every check: arq can run it as it is."""

    function: str
    args: list[Any]
    kwargs: dict[str, Any]


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTE_CHARS else text[: _QUOTE_CHARS - 1] + "…"


def _type_name(annotation: Any) -> str:
    return annotation.__name__ if isinstance(annotation, type) else str(annotation).replace("typing.", "")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _ArgumentCheck:
    """The arguments a job function accepts (after arq's `ctx`), with their type hints."""

    def __init__(self, name: str, function: Callable[..., Awaitable[Any]]) -> None:
        self.name = name
        try:
            signature = inspect.signature(function, eval_str=True)
        except (NameError, TypeError):  # a hint that names what its module cannot see
            signature = inspect.signature(function)
        parameters = list(signature.parameters.values())[1:]
        self.signature = signature.replace(parameters=parameters)
        self.adapters = {
            parameter.name: TypeAdapter(parameter.annotation)
            for parameter in parameters
            if parameter.annotation not in (inspect.Parameter.empty, Any) and not isinstance(parameter.annotation, str)
        }

    def check(self, args: list[Any], kwargs: dict[str, Any]) -> None:
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise InvalidPayload(f"the arguments do not fit {self.name}: {exc}") from exc
        for name, value in bound.arguments.items():
            adapter = self.adapters.get(name)
            if adapter is None:
                continue
            try:
                # Strict: JSON that only looks like the type ("1" for 1) is still the wrong type.
                adapter.validate_python(value, strict=True)
            except ValidationError as exc:
                wanted = self.signature.parameters[name].annotation
                raise InvalidPayload(
                    f"argument {name!r} of {self.name} is {_quote(value)}, not {_type_name(wanted)}") from exc


class PayloadReader:
    """Reads a raw payload and checks it against the functions a worker runs."""

    def __init__(self, functions: Mapping[str, Callable[..., Awaitable[Any]]]) -> None:
        self._checks = {name: _ArgumentCheck(name, function) for name, function in functions.items()}

    def read(self, raw: bytes | None) -> JobPayload:
        """The payload, or InvalidPayload saying what is wrong with it."""
        if raw is None:
            raise InvalidPayload("the job's payload is gone (it expired, or was never written)")
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            # A pickle lands here too: nothing but JSON is ever decoded.
            raise InvalidPayload("the job's payload is not JSON") from exc
        if not isinstance(payload, dict):
            raise InvalidPayload(f"the job's payload is a JSON {type(payload).__name__}, not an object")
        missing = [key for key in ("f", "a", "k", "t", "et") if key not in payload]
        if missing:
            raise InvalidPayload(f"the job's payload has no {', '.join(missing)}")
        function, args, kwargs, tries, enqueued_ms = (payload[key] for key in ("f", "a", "k", "t", "et"))
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise InvalidPayload("the job's arguments are not a list (a) and an object (k)")
        if not (tries is None or _is_int(tries)) or not _is_int(enqueued_ms):
            raise InvalidPayload("the job's try count (t) or enqueue time (et) is not an integer")
        check = self._checks.get(function) if isinstance(function, str) else None
        if check is None:
            raise InvalidPayload(f"no job function is called {_quote(function)}")
        check.check(args, kwargs)
        return JobPayload(function, args, kwargs)
