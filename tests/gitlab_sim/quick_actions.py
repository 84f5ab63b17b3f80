"""GitLab's quick-action parser (Gitlab::QuickActions::Extractor), for the commands the
simulator executes (tests/gitlab_sim/quick_action_ops.py).

What GitLab does, as kept here:

- ``\\r`` is deleted first; a command is ``/name`` at the very start of a line (no indent),
  case-insensitive, followed by the end of the line or one space and its argument (the rest of
  the line): ``/assign@joe`` and ``world /close`` are text.
- Only top-level paragraphs are searched (Banzai::Pipeline::QuickActionPipeline): nothing in a
  fenced code block (```` ``` ```` or ``~~~``, closed or running to the end), a ``>>>`` quote
  block, a ``>`` quote, an HTML block (``<tag>`` … ``</tag>``), a list item or an indented
  code block. Inside a paragraph an inline code span (backticks, across lines too) hides
  what it spans.
- Every recognised command line is removed from the text, executed or not; the text is then
  right-stripped. A text that is left empty was "commands only".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ALIASES = {
    "approve": "approve",
    "unapprove": "unapprove",
    "merge": "merge",
    "assign": "assign",
    "unassign": "unassign",
    "label": "label",
    "labels": "label",
    "unlabel": "unlabel",
    "remove_label": "unlabel",
    "close": "close",
    "reopen": "reopen",
    "move": "move",
    "clone": "clone",
}
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HTML_OPEN = re.compile(r"^<([A-Za-z][\w-]*)[^>]*>\s*$")
_NOT_PARAGRAPH = re.compile(r"^( {4,}|\t| {0,3}(>|[-*+] |\d+[.)] |#))")
_NAMES = "|".join(sorted(ALIASES, key=len, reverse=True))
_COMMAND = re.compile(
    rf"(?P<code>`.+?`)|^/(?P<cmd>{_NAMES})(?:[ ](?P<arg>[^\n]*))?(?:\s*\n|$)",
    re.IGNORECASE | re.MULTILINE | re.DOTALL,
)


@dataclass
class Command:
    name: str  # canonical name (aliases resolved)
    arg: str


@dataclass
class Extracted:
    content: str
    commands: list[Command] = field(default_factory=list)

    @property
    def commands_only(self) -> bool:
        return bool(self.commands) and not self.content


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(start, end) line ranges, end exclusive, of the top-level paragraphs."""
    ranges: list[tuple[int, int]] = []
    i, start = 0, None
    while i < len(lines):
        line = lines[i].rstrip("\n")
        skip_to = _block_end(lines, i)
        if skip_to is not None or not line.strip() or _NOT_PARAGRAPH.match(line):
            if start is not None:
                ranges.append((start, i))
                start = None
            i = skip_to if skip_to is not None else i + 1
            continue
        if start is None:
            start = i
        i += 1
    if start is not None:
        ranges.append((start, len(lines)))
    return ranges


def _block_end(lines: list[str], i: int) -> int | None:
    """The line after a code, quote or HTML block opening at line ``i``; None if none opens."""
    line = lines[i].rstrip("\n")
    fence = _FENCE.match(line)
    if fence:
        mark = fence.group(1)
        for j in range(i + 1, len(lines)):
            closing = lines[j].strip()
            if closing.startswith(mark) and set(closing) == {mark[0]}:
                return j + 1
        return len(lines)
    if line.startswith(">>>"):
        for j in range(i + 1, len(lines)):
            if lines[j].rstrip("\n") == ">>>":
                return j + 1
        return len(lines)
    tag = _HTML_OPEN.match(line)
    if tag:
        for j in range(i + 1, len(lines)):
            if lines[j].rstrip("\n").startswith(f"</{tag.group(1)}"):
                return j + 1
        return len(lines)
    return None


def extract(text: str | None) -> Extracted:
    """The text without its command lines and the commands, in order."""
    if not text:
        return Extracted(text or "")
    lines = text.replace("\r", "").splitlines(keepends=True)
    commands: list[Command] = []

    def take(match: re.Match) -> str:
        if match.group("cmd") is None:
            return match.group(0)
        name = ALIASES[match.group("cmd").lower()]
        commands.append(Command(name, (match.group("arg") or "").strip()))
        return ""

    out: list[str] = []
    done = 0
    for start, end in _paragraphs(lines):
        if end < len(lines) and lines[end] == "\n":
            end += 1  # GitLab's paragraph takes the blank line after it
        out += lines[done:start]
        out.append(_COMMAND.sub(take, "".join(lines[start:end])))
        done = end
    out += lines[done:]
    if not commands:
        return Extracted(text)
    return Extracted("".join(out).rstrip(), commands)


def command_lines(text: str) -> list[str]:
    """The lines of ``text`` GitLab would take as commands (for the fidelity tests)."""
    return [f"/{c.name}" + (f" {c.arg}" if c.arg else "") for c in extract(text).commands]
