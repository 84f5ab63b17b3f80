"""Markdown blocks in which GitLab reads no mention, found line by line (see `mentions`).

Fenced code, indented code, quoted lines and GitLab's `>>>` blocks are replaced by empty lines;
every other line is kept as it is. Linear in the number of lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE_OPEN = re.compile(r"[ \t]*(`{3,}|~{3,})(.*)")
_QUOTE = re.compile(r"[ \t]*>")
_MULTILINE_QUOTE = re.compile(r">>>[ \t]*")
_INDENTED = re.compile(r" {0,3}\t| {4}")
_LIST_ITEM = re.compile(r" {0,3}(?:[-*+]|[0-9]{1,9}[.)])(?:[ \t]|$)")


@dataclass
class _Reader:
    """Where the previous lines left off: an open fence, a paragraph, a list."""

    fence: str | None = None
    paragraph: bool = False
    in_list: bool = False

    def keeps(self, line: str) -> bool:
        """Whether `line` is prose (may hold a mention); advances the state."""
        if self.fence is not None:
            if _closes(line, self.fence):
                self.fence = None
            return False
        if not line.strip(" \t"):
            self.paragraph = False
            return True
        if _QUOTE.match(line):
            self.paragraph = False
            return False
        opener = _fence_opener(line)
        if opener is not None:
            self.fence, self.paragraph = opener, False
            return False
        if _INDENTED.match(line) and not (self.paragraph or self.in_list):
            return False  # an indented code block
        if _LIST_ITEM.match(line):
            self.in_list = True
        elif not _INDENTED.match(line) and not self.paragraph:
            self.in_list = False  # unindented text after a blank line ends a list
        self.paragraph = True
        return True


def drop_block_lines(lines: list[str]) -> list[str]:
    """`lines` with the lines of code blocks, quotes and `>>>` blocks replaced by ''."""
    closers = _multiline_quote_closers(lines)
    reader = _Reader()
    kept: list[str] = []
    index = 0
    while index < len(lines):
        closer = closers.get(index)
        if closer is not None and reader.fence is None:
            kept.extend("" for _ in range(index, closer + 1))
            reader.paragraph = False
            index = closer + 1
            continue
        kept.append(lines[index] if reader.keeps(lines[index]) else "")
        index += 1
    return kept


def _multiline_quote_closers(lines: list[str]) -> dict[int, int]:
    """For each `>>>` line that opens a block, the index of the `>>>` line closing it."""
    marks = [i for i, line in enumerate(lines) if _MULTILINE_QUOTE.fullmatch(line)]
    return dict(zip(marks[0::2], marks[1::2], strict=False))


def _fence_opener(line: str) -> str | None:
    """The fence (e.g. '```') the line opens, or None. A backtick fence's info has no '`'."""
    match = _FENCE_OPEN.fullmatch(line)
    if match is None:
        return None
    fence, info = match.group(1), match.group(2)
    if fence[0] == "`" and "`" in info:
        return None
    return fence


def _closes(line: str, fence: str) -> bool:
    """Whether `line` closes `fence`: same character, at least as long, nothing else after."""
    stripped = line.strip(" \t")
    run = len(stripped) - len(stripped.lstrip(fence[0]))
    return run >= len(fence) and stripped == fence[0] * run
