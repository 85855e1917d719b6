"""Cut a page's Markdown into passages an answer can quote.

A heading starts a new section and is kept at the top of each passage cut
from it, because it is often what makes a paragraph findable ("## Pricing"
above "Plans start at $5"). Within a section, paragraphs are merged up to
`max_chars`; a paragraph longer than that is cut at sentence ends, then at
spaces, then anywhere. A fenced code block is one paragraph, blank lines and
all. A section too small to stand alone is merged into the next one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_MAX_CHARS = 800
_HEADING = re.compile(r"#{1,6}\s")
_FENCE = re.compile(r"(```|~~~)")
_SENTENCE_END = re.compile("(?<=[.!?\u3002\uff01\uff1f])\\s+")  # also the CJK full stop, ! and ?


def split_passages(text: str, *, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """Passages of at most `max_chars` characters, in page order."""
    if max_chars < 40:
        raise ValueError("max_chars must be at least 40")
    passages: list[str] = []
    pending = ""  # a small section waiting to be merged into the next
    for heading, paragraphs in _sections(text):
        for passage in _pack(heading, paragraphs, max_chars):
            if pending and len(pending) + 2 + len(passage) <= max_chars:
                passage = f"{pending}\n\n{passage}"
            elif pending:
                passages.append(pending)
            pending = ""
            passages.append(passage)
        if passages and len(passages[-1]) < max_chars // 4:
            pending = passages.pop()
    if pending:
        passages.append(pending)
    return passages


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) in order; the text before the first heading has heading ""."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    block: list[str] = []
    fence: str | None = None

    def close_block() -> None:
        paragraph = "\n".join(block).strip()
        if paragraph:
            sections[-1][1].append(paragraph)
        block.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if fence is not None:
            block.append(line)
            if stripped.startswith(fence):
                fence = None
                close_block()
        elif (opening := _FENCE.match(stripped)) is not None:
            close_block()
            fence = opening.group(1)
            block.append(line)
        elif _HEADING.match(stripped):
            close_block()
            sections.append((stripped, []))
        elif not stripped:
            close_block()
        else:
            block.append(line)
    close_block()
    return [(heading, paragraphs) for heading, paragraphs in sections if paragraphs]


def _pack(heading: str, paragraphs: list[str], max_chars: int) -> list[str]:
    """Merge a section's paragraphs into passages, each led by the heading."""
    head = heading[: max_chars // 4]  # a giant heading must leave room for the text
    room = max_chars - (len(head) + 2 if head else 0)
    passages = _fill((piece for paragraph in paragraphs for piece in _cut(paragraph, room)), room, "\n\n")
    return [f"{head}\n\n{passage}" if head else passage for passage in passages]


def _cut(paragraph: str, room: int) -> list[str]:
    """A paragraph in pieces of at most `room` characters, at sentence ends where possible."""
    if len(paragraph) <= room:
        return [paragraph]
    return _fill((part for sentence in _SENTENCE_END.split(paragraph) for part in _hard_cut(sentence, room)), room, " ")


def _fill(pieces: Iterable[str], room: int, separator: str) -> list[str]:
    """`pieces` joined by `separator`, in order, into strings of at most `room` chars (unless one piece is longer)."""
    filled: list[str] = []
    current = ""
    for piece in pieces:
        if current and len(current) + len(separator) + len(piece) > room:
            filled.append(current)
            current = ""
        current = f"{current}{separator}{piece}" if current else piece
    if current:
        filled.append(current)
    return filled


def _hard_cut(sentence: str, room: int) -> list[str]:
    parts = []
    while len(sentence) > room:
        cut = sentence.rfind(" ", 0, room + 1)
        if cut <= 0:
            cut = room
        parts.append(sentence[:cut].rstrip())
        sentence = sentence[cut:].lstrip()
    if sentence:
        parts.append(sentence)
    return parts
