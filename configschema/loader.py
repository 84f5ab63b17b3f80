"""Loading a configuration document: size, encoding, YAML syntax, and the hostile-input limits.

Contract of :func:`load`: it never raises on bad input and never recurses on document depth.
It returns the root node (or None) and every problem found. The document is refused (root None)
when it is over 256 KiB (checked before parsing), not UTF-8, not valid YAML, holds more than one
document, nests deeper than :data:`MAX_DEPTH`, or expands to more than :data:`MAX_NODES` nodes
once aliases are followed. Custom tags, non-scalar keys and duplicate keys are errors too, but
the tree is still returned so that the schema can report its own problems in the same pass.

We walk YAML *parser events* and build the nodes ourselves: the parser is an explicit state
machine, so depth costs no Python stack, and counting nodes as they are built (an alias counts as
the full size of what it names) stops a "billion laughs" after at most 10,000 steps.

The events come from libyaml (PyYAML's C binding, :mod:`configschema.libyaml`) when it is
installed, about ten times faster, and otherwise from ruamel.yaml's safe, pure-Python parser,
which is the reference: whenever libyaml could answer differently (it refuses the text, a second
document starts...) the document is parsed again by ruamel, so results never depend on which
parser a machine has. Scalars are resolved by :mod:`configschema.scalars` from the raw text, tag
and style, so the parsers' own (YAML 1.1 or 1.2) resolvers play no part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml import events as ev
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from configschema import libyaml
from configschema.nodes import Map, Node, Scalar, ScalarValue, Seq, child_path, item_path
from configschema.prescan import deep_flow_position
from configschema.problems import DOCUMENT_START, Pos, Problem, ProblemSink
from configschema.scalars import ScalarError, core_tag, resolve_scalar, short_tag

MAX_BYTES = 256 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 64

# Read at each call, so that tests can force the pure-Python path.
USE_LIBYAML = libyaml.AVAILABLE


class _Refused(Exception):
    """Stops the walk over the events: the document cannot be used at all."""


@dataclass
class Loaded:
    """What :func:`load` found: the root node (None when refused or empty) and the problems."""

    root: Node | None
    problems: list[Problem]
    refused: bool = False


@dataclass(slots=True)
class _Frame:
    node: Seq | Map
    path: str
    anchor: str | None
    count_at_start: int
    key: Scalar | None = None
    drop_value: bool = False
    seen: dict[tuple[str, object], Scalar] = field(default_factory=dict)


def load(data: str | bytes) -> Loaded:
    """Load one configuration document (see the module docstring for the contract)."""
    sink = ProblemSink()
    text = _decode(data, sink)
    if text is None:
        return Loaded(None, sink.problems, refused=True)
    deep = deep_flow_position(text, MAX_DEPTH)
    if deep is not None:
        sink.error(Pos(*deep), "", _too_deep())
        return Loaded(None, sink.problems, refused=True)
    if USE_LIBYAML:
        try:
            return _parse(text, libyaml.feed)
        except libyaml.Unsure:
            pass  # ruamel has the last word on this document
    return _parse(text, _feed_pure)


def _parse(text: str, feed: Callable[[str, _Builder], None]) -> Loaded:
    sink = ProblemSink()
    builder = _Builder(sink)
    try:
        feed(text, builder)
    except _Refused:
        return Loaded(None, sink.problems, refused=True)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = Pos(mark.line + 1, mark.column + 1) if mark else DOCUMENT_START
        sink.error(at, "", f"invalid YAML: {_describe(exc)}")
        return Loaded(None, sink.problems, refused=True)
    except (YAMLError, AssertionError) as exc:
        # ruamel asserts instead of raising a YAMLError on some directives (``%YAML 1.3``).
        sink.error(DOCUMENT_START, "", f"invalid YAML: {exc}")
        return Loaded(None, sink.problems, refused=True)
    except RecursionError:
        # Not expected (nothing above recurses on depth); kept so a parser change cannot turn
        # a hostile document into a crash of the caller.
        sink.error(DOCUMENT_START, "", _too_deep())
        return Loaded(None, sink.problems, refused=True)
    return Loaded(builder.root, sink.problems)


def _feed_pure(text: str, builder: _Builder) -> None:
    """Feed ruamel.yaml's safe, pure-Python parser events to ``builder``."""
    for event in YAML(typ="safe", pure=True).parse(text):
        mark = event.start_mark
        if isinstance(event, ev.ScalarEvent):
            plain = event.style in (None, "")
            builder.scalar(
                event.value, event.tag, plain, event.anchor, mark.line + 1, mark.column + 1
            )
        elif isinstance(event, ev.SequenceStartEvent | ev.MappingStartEvent):
            mapping = isinstance(event, ev.MappingStartEvent)
            builder.start(mapping, event.tag, event.anchor, mark.line + 1, mark.column + 1)
        elif isinstance(event, ev.SequenceEndEvent | ev.MappingEndEvent):
            builder.end()
        elif isinstance(event, ev.AliasEvent):
            builder.alias(event.anchor, mark.line + 1, mark.column + 1)
        elif isinstance(event, ev.DocumentStartEvent):
            builder.document(mark.line + 1, mark.column + 1)


def _decode(data: str | bytes, sink: ProblemSink) -> str | None:
    # A str can only grow when encoded, so its length alone may already settle the size check.
    if len(data) > MAX_BYTES:
        sink.error(DOCUMENT_START, "", _too_big())
        return None
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        sink.error(DOCUMENT_START, "", _too_big())
        return None
    if isinstance(data, str):
        return data
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sink.error(DOCUMENT_START, "", f"the file is not UTF-8 text (bad byte at {exc.start})")
        return None


def _too_big() -> str:
    return f"the document is larger than {MAX_BYTES // 1024} KiB; refused before parsing"


def _too_deep() -> str:
    return f"the document nests deeper than {MAX_DEPTH} levels; refused"


def _describe(exc: MarkedYAMLError) -> str:
    parts = [str(p) for p in (exc.context, exc.problem) if p]
    return "; ".join(parts) or type(exc).__name__


class _Builder:
    """Turns parser events into nodes while enforcing the limits."""

    def __init__(self, sink: ProblemSink) -> None:
        self.sink = sink
        self.root: Node | None = None
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Node, int]] = {}
        self.open_anchors: set[str] = set()
        self.count = 0
        self.documents = 0
        # Untagged scalars resolved without error, by (text, plain): documents repeat their
        # keys and values. (Errors are not kept: each occurrence must be reported.)
        self.resolved: dict[tuple[str, bool], tuple[str, ScalarValue]] = {}

    def document(self, line: int, column: int) -> None:
        self.documents += 1
        if self.documents > 1:
            self._refuse(Pos(line, column), "only one YAML document is allowed; remove the '---'")

    def _refuse(self, at: Pos, message: str) -> None:
        self.sink.error(at, self._path(), message)
        raise _Refused

    def _grow(self, by: int, line: int, column: int) -> None:
        self.count += by
        if self.count > MAX_NODES:
            self._refuse(
                Pos(line, column),
                f"the document expands to more than {MAX_NODES:,} nodes "
                "(aliases are counted each time they are used); refused",
            )

    def scalar(
        self, value: str, tag: str | None, plain: bool, anchor: str | None, line: int, column: int
    ) -> None:
        self._grow(1, line, column)
        untagged = tag is None
        found = self.resolved.get((value, plain)) if untagged else None
        if found is None:
            if tag is not None:
                tag = self._check_tag(tag, line, column, collection=False)
            try:
                found = resolve_scalar(value, plain, tag)
            except ScalarError as exc:
                self.sink.error(Pos(line, column), self._path(), str(exc))
                found = ("str", value)
            else:
                if untagged:
                    self.resolved[value, plain] = found
        node = Scalar(line, column, found[1], found[0])
        if anchor:
            self.anchors[anchor] = (node, 1)
        self._attach(node)

    def start(
        self, mapping: bool, tag: str | None, anchor: str | None, line: int, column: int
    ) -> None:
        if len(self.stack) >= MAX_DEPTH:
            self._refuse(Pos(line, column), _too_deep())
        self._grow(1, line, column)
        if tag is not None:
            self._check_tag(tag, line, column, collection=True, mapping=mapping)
        node: Seq | Map = Map(line, column) if mapping else Seq(line, column)
        if anchor:
            self.open_anchors.add(anchor)
        self.stack.append(_Frame(node, self._path(), anchor, self.count - 1))

    def end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.node, self.count - frame.count_at_start)
        self._attach(frame.node)

    def alias(self, anchor: str, line: int, column: int) -> None:
        at = Pos(line, column)
        if anchor in self.open_anchors:
            self._refuse(at, f"the alias *{anchor} refers to a node that contains it")
        if anchor not in self.anchors:
            # An unquoted host pattern (`- *.npmjs.org` in policies.egress) parses as an alias.
            hint = f"; a host pattern must be quoted: '*{anchor}'" if anchor.startswith(".") else ""
            self._refuse(at, f"the alias *{anchor} names no anchor defined before it{hint}")
        node, size = self.anchors[anchor]
        self._grow(size, line, column)
        self._attach(node)

    def _check_tag(
        self, tag: str, line: int, column: int, *, collection: bool, mapping: bool = False
    ) -> str | None:
        """Report a custom tag; return the tag when it may be honoured, else None."""
        name = core_tag(tag)
        at, shown = Pos(line, column), short_tag(tag)
        if name is None:
            self.sink.error(
                at, self._path(), f"the custom tag {shown} is not allowed; write plain YAML values"
            )
            return None
        if collection and name and name != ("map" if mapping else "seq"):
            self.sink.error(at, self._path(), f"the tag {shown} does not fit this collection")
        return tag

    def _path(self) -> str:
        """The path of the node about to be attached (a mapping key counts as its entry)."""
        if not self.stack:
            return ""
        frame = self.stack[-1]
        if isinstance(frame.node, Seq):
            return item_path(frame.path, len(frame.node.items))
        if frame.key is None:
            return frame.path
        return child_path(frame.path, str(frame.key.value))

    def _attach(self, node: Node) -> None:
        if not self.stack:
            self.root = node
            return
        frame = self.stack[-1]
        if isinstance(frame.node, Seq):
            frame.node.items.append(node)
        elif frame.key is None:
            self._take_key(frame, node)
        else:
            if not frame.drop_value:
                frame.node.entries.append((frame.key, node))
            frame.key, frame.drop_value = None, False

    def _take_key(self, frame: _Frame, node: Node) -> None:
        if not isinstance(node, Scalar):
            self.sink.error(
                Pos(node.line, node.column), frame.path, "a mapping key must be a plain value"
            )
            frame.key, frame.drop_value = Scalar(node.line, node.column, None, "null"), True
            return
        identity = (node.tag, node.value)
        first = frame.seen.get(identity)
        frame.key, frame.drop_value = node, first is not None
        if first is not None:
            self.sink.error(
                Pos(node.line, node.column),
                child_path(frame.path, str(node.value)),
                f"duplicate key {node.value!s}; it is already defined on line {first.line}",
            )
        else:
            frame.seen[identity] = node
