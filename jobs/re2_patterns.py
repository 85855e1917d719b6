"""A client's regular expression, run on RE2: linear time whatever the pattern, so none can hang a worker."""

from __future__ import annotations

from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a client's pattern is a 422, not a line on stderr
_OPTIONS.never_capture = True  # only whether it matches counts


class UnusablePattern(ValueError):
    """RE2 refuses the pattern (lookaround, backreferences, a syntax error); `reason` is RE2's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def compile_client_pattern(pattern: str) -> Any:
    """The RE2 program for `pattern`; UnusablePattern when RE2 refuses it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise UnusablePattern(str(reason)) from None
