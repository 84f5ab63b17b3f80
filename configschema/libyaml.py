"""The loader's fast path: libyaml's parser events (PyYAML's C binding) fed to its node builder.

libyaml is a YAML 1.1 parser and ruamel.yaml (the reference, see :mod:`configschema.loader`) a
YAML 1.2 one, but the builder only takes the raw scalar text, tags, styles, anchors and
positions, and resolves scalars itself (:mod:`configschema.scalars`), so the two parsers' own
resolvers play no part. What is left are differences in scanning and in a few positions.

Where libyaml could answer differently from ruamel, :func:`feed` raises :class:`Unsure` and the
loader parses the document again with ruamel, whose answer is final. The cases were found by
comparing both parsers on hundreds of thousands of generated documents:

- libyaml refuses the text (syntax error, unreadable character, lone surrogates): the error and
  its position must be ruamel's;
- a second document starts: ruamel reports it at its ``---`` and refuses some streams libyaml
  takes (a bare document after ``...``); also anything after an explicit ``...``;
- directives (``%YAML``, ``%TAG``): ruamel changes its rules by version and expands handles;
- a tab anywhere (ruamel refuses one after a value: ``a:\t1``, ``a: 1\t``), a line break
  libyaml knows and ruamel does not (NEL, U+2028, U+2029), a byte order mark past the start;
- an anchor or alias name libyaml ends sooner than ruamel (``*a:``), any tag but ``!``,
  ``!name`` and ``!!name`` followed by a blank (ruamel reads ``!!str,}`` as one tag);
- a node right after a colon in a flow collection (``[:x]``, ``{"a":1}``): libyaml takes any
  such colon for a mapping value, ruamel not always;
- a block scalar ruamel refuses or reads otherwise: a header glued to a comment (``|#``), a
  first line of spaces only, a top-level one (ruamel allows it no indentation);
- an empty value whose position cannot be worked out with certainty (see below).

Positions libyaml gives differently are mapped to ruamel's instead:

- a node with an anchor is at its anchor (ruamel), not at its tag when the tag comes first;
- an empty value of a block mapping (``key:`` and nothing) is at the next token (ruamel), not
  just after the colon: the next key, or where the mapping ends;
- an empty value in a flow collection (``{a: }``) is just after its colon (ruamel), not at the
  ``,`` or ``}`` that follows;
- a position at the very end of a text that lacks a final line break is at the end of its last
  line (ruamel), not on a line after it.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

try:
    import yaml
    from yaml import events as _ev
    from yaml._yaml import CParser as _CParser
    from yaml.error import YAMLError as _YAMLError
except ImportError:  # PyYAML missing, or built without libyaml
    AVAILABLE = False
else:
    AVAILABLE = bool(getattr(yaml, "__with_libyaml__", False))
    # The events after which a node has been read completely.
    _NODE_ENDS = (_ev.ScalarEvent, _ev.AliasEvent, _ev.MappingEndEvent, _ev.SequenceEndEvent)
    _SIMPLE_KEYS = (_ev.ScalarEvent, _ev.AliasEvent)

_BOM = "\ufeff"
# Characters that send a document to ruamel (see the module docstring).
_UNSURE_CHARACTERS = re.compile("[\t\x85\u2028\u2029\ufeff]")
_BREAKS = "\r\n"
_BLANKS = " \r\n"
# The only tags taken here: ``!``, ``!name``, ``!!name`` with nothing both parsers could read
# differently (flow indicators, ``%`` escapes, ``#``, a second ``!``).
_PLAIN_TAG = re.compile(r"!(?:!?[0-9A-Za-z\-;/?:@&=+$_.~*'()]+)?\Z")
_BLOCK_HEADER = re.compile(r"[|>][-+0-9]*")
_BREAK = re.compile(r"\r\n?|\n")
# A line of spaces only (group 1), as the first content line of a block scalar.
_SPACES_LINE = re.compile(r"( *)(?:\r|\n)")
# What may come before a simple key on its line: its indentation and sequence entries.
_LINE_PREFIX = re.compile(r"(?: |-(?= ))*")
# What may follow an anchor or alias name for ruamel to end it where libyaml does.
_NAME_ENDS = " \r\n,]}"


class Unsure(Exception):
    """libyaml cannot settle this document exactly as ruamel would: use the pure-Python path."""


class Builder(Protocol):
    """What the loader's builder takes; positions are 1-based."""

    def scalar(
        self, value: str, tag: str | None, plain: bool, anchor: str | None, line: int, column: int
    ) -> None: ...

    def start(
        self, mapping: bool, tag: str | None, anchor: str | None, line: int, column: int
    ) -> None: ...

    def end(self) -> None: ...

    def alias(self, anchor: str, line: int, column: int) -> None: ...


def feed(text: str, builder: Builder) -> None:
    """Feed the events of ``text`` to ``builder``; raise :class:`Unsure` (see the docstring).

    When the builder refuses the document (by raising), the events that follow are still read
    for a while, without building: ruamel reads ahead of the events it hands out (the rest of
    the line, up to 1,024 characters, and one more token), and may find an error there first.
    The refusal stands only if libyaml finds nothing in that stretch that needs ruamel.
    """
    if text.startswith(_BOM):
        text = text[1:]  # neither parser counts it; without it, marks are indexes into text
    if _UNSURE_CHARACTERS.search(text):
        raise Unsure
    try:
        parser = _CParser(text)
    except UnicodeError as exc:  # lone surrogates cannot be encoded for libyaml
        raise Unsure from exc
    walk = _Walk(parser, text)
    try:
        walk.run(builder)
    except Unsure:
        raise
    except _YAMLError as exc:
        raise Unsure from exc
    except Exception as refusal:
        mark = walk.previous.start_mark
        try:
            walk.run(_IGNORE, until=(mark.index + _LOOKAHEAD, mark.line))
        except (Unsure, _YAMLError) as exc:
            raise Unsure from exc
        raise refusal
    finally:
        parser.dispose()


_FLOW, _BLOCK_MAPPING, _BLOCK_SEQUENCE = 0, 1, 2
# _FLOW_COLON: a node in a flow collection right after a colon (``[:x]``, ``{"a":1}``) is left
# to ruamel: libyaml takes any such colon for a mapping value, ruamel not always.
# How far ruamel may read past a simple key before giving it up (see :func:`feed`).
_LOOKAHEAD = 1024


class _Walk:
    """The events of one document, read once, possibly across two calls of :meth:`run`."""

    def __init__(self, parser: Any, text: str) -> None:
        self.get_event = parser.get_event
        self.text = text
        # One entry per open collection: _FLOW, _BLOCK_MAPPING or _BLOCK_SEQUENCE.
        self.contexts: list[int] = []
        self.documents = 0
        self.previous: Any = None

    def run(self, builder: Builder, until: tuple[int, int] | None = None) -> None:
        """Read events to the end; with ``until`` (index, line), stop at the second node that
        starts after that index or below that line."""
        text, contexts, get_event = self.text, self.contexts, self.get_event
        scalar, start, end, alias = builder.scalar, builder.start, builder.end, builder.alias
        scalar_event, alias_event = _ev.ScalarEvent, _ev.AliasEvent
        mapping_start, sequence_start = _ev.MappingStartEvent, _ev.SequenceStartEvent
        mapping_end, sequence_end = _ev.MappingEndEvent, _ev.SequenceEndEvent
        beyond = 0
        while True:
            previous, event = self.previous, get_event()
            self.previous = event
            kind = type(event)
            if until is not None and event is not None:
                mark = event.start_mark
                if mark.index > until[0] or mark.line > until[1]:
                    beyond += 1
                    if beyond == 2:
                        return
            if kind is scalar_event:
                value, tag, anchor, style = event.value, event.tag, event.anchor, event.style
                mark = event.start_mark
                line, column, after = mark.line + 1, mark.column + 1, mark.index
                context = contexts[-1] if contexts else None
                if tag is not None or anchor is not None:
                    line, column, after = _properties(text, event)
                elif not (value or style):
                    line, column = _empty(text, event, context, previous)
                if context == _FLOW:
                    if after and text[after - 1] == ":":
                        raise Unsure  # see _FLOW_COLON
                elif style == "|" or style == ">":
                    if context is None:
                        raise Unsure  # ruamel lets a top-level one have no indentation
                    _check_block_header(text, after)
                scalar(value, tag, not style, anchor, line, column)
            elif kind is mapping_end or kind is sequence_end:
                contexts.pop()
                end()
            elif kind is mapping_start or kind is sequence_start:
                mark = event.start_mark
                line, column, after = mark.line + 1, mark.column + 1, mark.index
                tag, anchor = event.tag, event.anchor
                if tag is not None or anchor is not None:
                    line, column, after = _properties(text, event)
                if contexts and contexts[-1] == _FLOW and after and text[after - 1] == ":":
                    raise Unsure  # see _FLOW_COLON
                mapping = kind is mapping_start
                if event.flow_style:
                    contexts.append(_FLOW)
                else:
                    contexts.append(_BLOCK_MAPPING if mapping else _BLOCK_SEQUENCE)
                start(mapping, tag, anchor, line, column)
            elif kind is alias_event:
                mark = event.start_mark
                after = mark.index
                if contexts and contexts[-1] == _FLOW and after and text[after - 1] == ":":
                    raise Unsure  # see _FLOW_COLON
                after = event.end_mark.index
                if after < len(text) and text[after] not in _NAME_ENDS:
                    raise Unsure  # ruamel would read a longer name
                alias(event.anchor, mark.line + 1, mark.column + 1)
            elif kind is _ev.DocumentEndEvent:
                if event.explicit and _skip_blanks(text, event.end_mark.index, 0, 0)[0] < len(text):
                    raise Unsure  # ruamel may see one more (empty) document after ``...``
            elif kind is _ev.DocumentStartEvent:
                self.documents += 1
                if self.documents > 1 or event.version is not None or event.tags:
                    raise Unsure
            elif kind is _ev.StreamEndEvent or event is None:
                return


class _Ignore:
    """A builder that builds nothing, to read the events left after a refusal."""

    def scalar(self, *args: object) -> None:
        pass

    def start(self, *args: object) -> None:
        pass

    def end(self) -> None:
        pass

    def alias(self, *args: object) -> None:
        pass


_IGNORE = _Ignore()


def _properties(text: str, event: Any) -> tuple[int, int, int]:
    """The 1-based position ruamel gives a node with a tag or an anchor (the anchor if any),
    and the index just after them.

    libyaml's mark is the first of the two; the other one follows after blanks, line breaks
    and comments. Both are checked to be read alike by the two parsers.
    """
    anchor = event.anchor
    need_anchor, need_tag = anchor is not None, event.tag is not None
    mark = event.start_mark
    i, line, column = mark.index, mark.line, mark.column
    n = len(text)
    found_at = (line + 1, column + 1)
    while True:
        if need_anchor and text.startswith("&" + anchor, i):
            found_at = (line + 1, column + 1)
            j = i + 1 + len(anchor)
            if j < n and text[j] not in _NAME_ENDS:
                raise Unsure  # ruamel would read a longer name
            need_anchor = False
        elif need_tag and text.startswith("!", i):
            j = i + 1
            while j < n and text[j] not in _BLANKS:
                j += 1
            if not _PLAIN_TAG.match(text, i, j):
                raise Unsure
            need_tag = False
        else:
            raise Unsure  # not laid out as expected
        if not (need_anchor or need_tag):
            return found_at[0], found_at[1], j
        i, line, column = _skip_blanks(text, j, line, column + j - i)


def _empty(text: str, event: Any, context: int | None, previous: Any) -> tuple[int, int]:
    """The 1-based position ruamel gives an empty (null) scalar with no tag nor anchor."""
    mark = event.start_mark
    i = mark.index
    if i >= len(text):
        return _end_of_text(text)
    if context == _BLOCK_MAPPING and i and text[i - 1] == ":":
        # ``key:`` and nothing: ruamel puts the value at the end of the token after the colon:
        # where the mapping ends or the next key starts (both zero-width), or the end of text.
        j, line, column = _skip_blanks(text, i, mark.line, mark.column)
        if j >= len(text):
            return line + 1, column + 1
        indent = _key_column(text, previous)
        if indent is None or column > indent:
            raise Unsure
        if column == indent and text[j] in "?:-" and text[j + 1 : j + 2] in ("", " ", "\r", "\n"):
            raise Unsure  # a token with a width (or an error): rare enough to leave to ruamel
        return line + 1, column + 1
    if context == _FLOW:
        # ``{key: }``: libyaml is at the next token (``,`` or ``}``), ruamel just after the colon.
        # Between the previous node and this mark there must be nothing or that one colon;
        # anything else (``?``, a comment, a collection start before) is left to ruamel.
        if not isinstance(previous, _NODE_ENDS):
            raise Unsure
        node_end: Any = previous.end_mark
        between = text[node_end.index : i].strip(_BLANKS)
        if not between:
            return mark.line + 1, mark.column + 1
        if between != ":":
            raise Unsure
        colon = text.index(":", node_end.index)
        if text[colon + 1] not in _BLANKS:
            raise Unsure
        line_start = max(text.rfind("\n", 0, colon), text.rfind("\r", 0, colon)) + 1
        breaks = text.count("\n", colon, i) + text.count("\r", colon, i)
        breaks -= text.count("\r\n", colon, i)
        return mark.line - breaks + 1, colon - line_start + 2
    return mark.line + 1, mark.column + 1


def _key_column(text: str, key: Any) -> int | None:
    """The 0-based column of a block mapping's keys, from one simple key (else None)."""
    if not isinstance(key, _SIMPLE_KEYS):
        return None
    mark: Any = key.start_mark
    if not _LINE_PREFIX.fullmatch(text, mark.index - mark.column, mark.index):
        return None  # maybe an explicit key (``? a``)
    return int(mark.column)


def _check_block_header(text: str, i: int) -> None:
    """Raise :class:`Unsure` on a block scalar ruamel would refuse and libyaml takes.

    ``i`` is at the block scalar's header or at blanks before it. ruamel wants a blank right
    after the indicators (``|# c`` is an error for it), and refuses a first content line made of
    spaces only when a later leading line is more indented (libyaml does not).
    """
    i = _skip_blanks(text, i, 0, 0)[0]
    header = _BLOCK_HEADER.match(text, i)
    if header is None:
        raise Unsure
    k = header.end()
    if k < len(text) and text[k] not in _BLANKS:
        raise Unsure
    line_end = _BREAK.search(text, k)
    if line_end is None:
        return
    first = _SPACES_LINE.match(text, line_end.end())
    if first is not None and first.group(1):
        raise Unsure


def _skip_blanks(text: str, i: int, line: int, column: int) -> tuple[int, int, int]:
    """Step over spaces, comments and line breaks from index ``i`` (0-based line and column)."""
    n = len(text)
    while i < n:
        c = text[i]
        if c == " ":
            i += 1
            column += 1
        elif c in _BREAKS:
            i += 2 if text.startswith("\r\n", i) else 1
            line, column = line + 1, 0
        elif c == "#":
            while i < n and text[i] not in _BREAKS:
                i += 1
                column += 1
        else:
            break
    return i, line, column


def _end_of_text(text: str) -> tuple[int, int]:
    """The 1-based position of the end of ``text`` as ruamel counts it."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    last_break = lines.rfind("\n")
    return lines.count("\n") + 1, len(lines) - last_break
