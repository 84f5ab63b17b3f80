"""A cheap look for deeply nested flow collections (``[[[[...``) before the YAML parser runs.

Why: ruamel's pure-Python scanner keeps one "possible simple key" per open flow level and
re-checks all of them for every token, so a line of ten thousand ``[`` costs it half a second
before the first events come out. This scan finds such nesting in one linear pass.

It understands just enough YAML to avoid counting brackets that are text: quoted scalars,
comments, block scalars (``|`` and ``>``), and plain scalars in block context (``arr[0]``).
Where it is unsure it under-counts; the loader still checks the real depth on the parser's
events, so an under-count only costs time, never correctness.
"""

from __future__ import annotations

import re

_BLOCK_HEADER = re.compile(r"[|>][0-9+-]*[ \t]*(?:#.*)?\Z")
_OPENERS = "[{"
_CLOSERS = "]}"
# After one of these followed by a blank (or the end of the line) a new node may start.
_INDICATORS = ":-?"


class _Scan:
    """State carried from line to line."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.depth = 0
        self.quote: str | None = None
        self.block_indent: int | None = None


def deep_flow_position(text: str, limit: int) -> tuple[int, int] | None:
    """The 1-based (line, column) of the first flow opener nested deeper than ``limit``."""
    if text.count("[") + text.count("{") <= limit:
        return None
    scan = _Scan(limit)
    for number, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        indent = len(line) - len(line.lstrip(" "))
        if scan.block_indent is not None:
            if not line.strip() or indent > scan.block_indent:
                continue
            scan.block_indent = None
        column = _scan_line(scan, line, indent)
        if column is not None:
            return number, column + 1
    return None


def _scan_line(scan: _Scan, line: str, indent: int) -> int | None:
    """Advance ``scan`` over one line; return the 0-based column where the limit is crossed."""
    i, n = 0, len(line)
    start = True
    while i < n:
        c = line[i]
        if scan.quote is not None:
            i = _in_quote(scan, line, i)
            start = scan.quote is not None and start
            continue
        if c in " \t":
            i += 1
            continue
        if c == "#" and (i == 0 or line[i - 1] in " \t"):
            return None
        if c in _OPENERS and (start or scan.depth):
            scan.depth += 1
            if scan.depth > scan.limit:
                return i
            start = True
        elif c in _CLOSERS and scan.depth:
            scan.depth -= 1
            start = False
        elif c == "," and scan.depth:
            start = True
        elif c in "\"'" and start:
            scan.quote = c
        elif c in "&!" and start:
            # An anchor or tag comes before the node it names: skip it, the node starts next.
            while i + 1 < n and line[i + 1] not in " \t[]{},":
                i += 1
        elif c in "|>" and start and not scan.depth and _BLOCK_HEADER.match(line, i):
            scan.block_indent = indent
            return None
        else:
            start = c in _INDICATORS and (i + 1 == n or line[i + 1] in " \t")
        i += 1
    return None


def _in_quote(scan: _Scan, line: str, i: int) -> int:
    """Step over one character inside a quoted scalar; return the next index."""
    c = line[i]
    if scan.quote == '"':
        if c == "\\":
            return i + 2
        if c == '"':
            scan.quote = None
        return i + 1
    if c == "'":
        if i + 1 < len(line) and line[i + 1] == "'":
            return i + 2
        scan.quote = None
    return i + 1
