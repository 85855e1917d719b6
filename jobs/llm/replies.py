"""Reading the model's reply: only ever as JSON or as text, never as anything to act on.

Servers without structured output answer in prose, often with the JSON in a
```json fence; `parse_json_reply` takes the whole reply, else a fenced block,
else the first JSON object in the text. Reasoning models served by Ollama or
vLLM may open their reply with `<think>…</think>`: that is dropped first, so an
object the model only considered is never taken. Every step is bounded, since
the reply may echo hostile page text.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_OBJECT_STARTS = 20
"""How many `{` are tried as the start of an object: each failed try may scan to the end of the reply."""

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)
_CITATION = re.compile(r"([ \t]*)((?:\[\s*\d{1,6}(?:\s*,\s*\d{1,6})*\s*\])+)")  # a run: [1], [1, 2], [1][2]
_DECODER = json.JSONDecoder(parse_constant=lambda name: _reject_constant(name))
_REASONING = re.compile(r"<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)


def strip_reasoning(reply: str) -> str:
    """The reply without the `<think>…</think>` blocks some reasoning models put in it."""
    return _REASONING.sub("", reply).strip() if "<" in reply else reply.strip()


def parse_json_reply(reply: str) -> Any:
    """The JSON value in `reply`; ValueError saying why there is none."""
    text = strip_reasoning(reply).lstrip("\ufeff").strip()
    if not text:
        raise ValueError("the reply is empty")
    candidates = [text, *(block.strip() for block in _FENCE.findall(text))]
    for candidate in candidates:
        try:
            return _decode_whole(candidate)
        except ValueError:
            continue
    start = text.find("{")
    for _ in range(MAX_OBJECT_STARTS):
        if start < 0:
            break
        try:
            value, _end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        return value
    raise ValueError("the reply is not JSON and contains no JSON object")


def cite(answer: str, urls: list[str]) -> tuple[str, list[str]]:
    """The answer with its [n] passage markers renumbered to index the cited URLs, and those URLs.

    Passage n is urls[n - 1]. A number with no passage is dropped, from the list and
    from the text; passages of one URL share its number. In the answer returned,
    [k] means the k-th of the cited URLs.
    """
    cited: list[str] = []

    def renumber(match: re.Match[str]) -> str:
        numbers: list[int] = []
        for raw in re.findall(r"\d+", match.group(2)):
            passage = int(raw)
            if 1 <= passage <= len(urls):
                url = urls[passage - 1]
                if url not in cited:
                    cited.append(url)
                number = cited.index(url) + 1
                if number not in numbers:
                    numbers.append(number)
        if not numbers:
            return ""  # with the space before it, so "capital [9]." reads "capital."
        return match.group(1) + "".join(f"[{number}]" for number in numbers)

    return _CITATION.sub(renumber, answer).strip(), cited


def _decode_whole(text: str) -> Any:
    try:
        value, end = _DECODER.raw_decode(text)
    except RecursionError:
        raise ValueError("the reply is nested too deeply") from None
    if text[end:].strip():
        raise ValueError("extra text after the JSON value")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
