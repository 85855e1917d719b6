"""Whole numbers a client sent: ASCII digits only, within a range.

`str.isdigit()` is true for '²' and '١٢', which `int()` then refuses or reads
as another number; `int()` also takes signs, spaces and `_`. Every number read
from a request (headers, query parameters, link tokens, event ids) goes
through `parse_ascii_decimal`, so each gets the same answer: a number in range,
or None for the caller to turn into its own 400/422. `ascii_decimal_pattern`
is the regex of exactly what it accepts, for the OpenAPI document. It lives in
`streams/`, the lowest layer, because every layer reads such numbers.
"""

from __future__ import annotations

import re
from typing import Final

_DIGITS: Final = re.compile(r"[0-9]+")


def parse_ascii_decimal(text: str, *, maximum: int, minimum: int = 0) -> int | None:
    """`text` as an int if it is ASCII digits only, no longer than `maximum` written out, and in range."""
    # The length bound first: int() of a long string is slow (and refuses > 4300 digits).
    if len(text) > len(str(maximum)) or not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def ascii_decimal_pattern(maximum: int) -> str:
    """A regex (no anchors) matching exactly the texts `parse_ascii_decimal(…, maximum=maximum)` accepts."""
    digits = str(maximum)
    width = len(digits)
    # Shorter than `maximum` written out: any digits. As long: below it at the first digit that differs.
    choices = [f"[0-9]{{1,{width - 1}}}"] if width > 1 else []
    for index, digit in enumerate(digits):
        if digit != "0":
            below = "0" if digit == "1" else f"[0-{int(digit) - 1}]"
            rest = width - index - 1
            choices.append(digits[:index] + below + (f"[0-9]{{{rest}}}" if rest else ""))
    choices.append(digits)
    return "(?:" + "|".join(choices) + ")"
