"""What a page is compared by (its Markdown and tracked fields, normalized and bounded), and how two looks differ.

A snapshot keeps only what a watcher notices: the main content as Markdown
with whitespace normalized, and a fixed list of fields (`TRACKED_FIELDS`).
Volatile parts of a result (when it was fetched, the links, the raw HTML,
the metadata blobs) are not in it, so they never make a page "changed".
Everything is bounded: the Markdown kept (`MARKDOWN_MAX_BYTES`), each field's
text, and the unified diff (`DIFF_MAX_BYTES`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

# Only the first this many bytes of a page's (normalized) Markdown are kept and compared.
MARKDOWN_MAX_BYTES: Final = 64 * 1024
# A diff longer than this is cut at a line boundary, and says so on its last line.
DIFF_MAX_BYTES: Final = 16 * 1024
# Each tracked text field is compared on at most this many characters, a list on this many items.
FIELD_MAX_CHARS: Final = 1_000
FIELD_MAX_ITEMS: Final = 20

# The fields compared, as dotted paths into the result document.
TRACKED_FIELDS: Final = (
    "title", "description", "canonical", "language",
    "product.name", "product.brand", "product.sku", "product.gtin", "product.price", "product.currency",
    "product.availability", "product.rating", "product.review_count", "product.images",
)

ChangeStatus = Literal["new", "same", "changed"]


def _normalized_text(value: str) -> str:
    return " ".join(value.split())[:FIELD_MAX_CHARS]


def _normalized_value(value: Any) -> Any:
    """Whitespace runs are one space; lists are bounded; numbers stay numbers (39.9 == 39.90)."""
    if isinstance(value, str):
        return _normalized_text(value)
    if isinstance(value, list):
        return [_normalized_value(item) for item in value[:FIELD_MAX_ITEMS]]
    if isinstance(value, bool | int | float) or value is None:
        return value
    return _normalized_text(str(value))


def normalized_markdown(markdown: str | None) -> str:
    """Each line's whitespace collapsed, blank lines dropped, cut to MARKDOWN_MAX_BYTES (whole characters)."""
    lines = (" ".join(line.split()) for line in (markdown or "").splitlines())
    text = "\n".join(line for line in lines if line)
    encoded = text.encode()
    if len(encoded) <= MARKDOWN_MAX_BYTES:
        return text
    return encoded[:MARKDOWN_MAX_BYTES].decode(errors="ignore")


def _field(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One look at a page, as it is compared: normalized Markdown and the tracked fields that have a value."""

    markdown: str
    fields: dict[str, Any]
    job: str | None = None  # the job that took it

    @classmethod
    def of(cls, document: dict[str, Any], job: str | None = None) -> Snapshot:
        """From a result document (a page's `PageDocument` as JSON) that was extracted with Markdown and product."""
        fields = {path: _normalized_value(value) for path in TRACKED_FIELDS
                  if (value := _field(document, path)) not in (None, [], "")}
        return cls(normalized_markdown(document.get("markdown")), fields, job)

    def to_json(self) -> bytes:
        return orjson.dumps({"job": self.job, "markdown": self.markdown, "fields": self.fields})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Snapshot | None:
        """None for anything that is not a snapshot (a key written by something else is no baseline)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("markdown"), str) \
                or not isinstance(data.get("fields"), dict):
            return None
        job = data.get("job")
        return cls(data["markdown"], data["fields"], job if isinstance(job, str) else None)


@dataclass(frozen=True, slots=True)
class Change:
    """How a page differs from its previous look: the `change` of a result."""

    status: ChangeStatus
    previous_job: str | None = None
    diff: str | None = None  # unified diff of the Markdown; None unless it changed
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {"before", "after"}

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "previous_job": self.previous_job, "diff": self.diff, "fields": self.fields}


def markdown_diff(before: str, after: str, previous_job: str | None) -> str:
    """A unified diff, bounded to DIFF_MAX_BYTES: cut at a line, with a last line saying how much was left out."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(),
                                 fromfile=f"previous/{previous_job or 'unknown'}", tofile="current", lineterm="")
    kept: list[str] = []
    size = 0
    left_out = 0
    for line in lines:
        cost = len(line.encode()) + 1
        if left_out or size + cost > DIFF_MAX_BYTES - 80:
            left_out += 1
            continue
        kept.append(line)
        size += cost
    if left_out:
        kept.append(f"... {left_out} more diff lines left out (diffs are cut at {DIFF_MAX_BYTES} bytes)")
    return "\n".join(kept)


def compare(previous: Snapshot | None, current: Snapshot) -> Change:
    """`new` without a previous look, `same` when Markdown and fields agree, else `changed` with what differs."""
    if previous is None:
        return Change("new")
    fields = {path: {"before": previous.fields.get(path), "after": current.fields.get(path)}
              for path in TRACKED_FIELDS
              if previous.fields.get(path) != current.fields.get(path)}
    # Whitespace never counts, line breaks included (a reflowed paragraph is the same text);
    # the diff, when there is one, keeps the lines so that a reader sees where.
    markdown_changed = previous.markdown.split() != current.markdown.split()
    if not fields and not markdown_changed:
        return Change("same", previous.job)
    diff = markdown_diff(previous.markdown, current.markdown, previous.job) if markdown_changed else None
    return Change("changed", previous.job, diff, fields)
