"""Loading a configuration document: size, encoding, YAML syntax, and the hostile-input limits.

Contract of :func:`load`: it never raises on bad input and never recurses on document depth.
It returns the root node (or None) and every problem found. The document is refused (root None)
when it is over 256 KiB (checked before parsing), not UTF-8, not valid YAML, holds more than one
document, nests deeper than :data:`MAX_DEPTH`, or expands to more than :data:`MAX_NODES` nodes
once aliases are followed. Custom tags, non-scalar keys and duplicate keys are errors too, but
the tree is still returned so that the schema can report its own problems in the same pass.

We walk ruamel.yaml's *parser events* (its safe, pure-Python path) and build the nodes ourselves:
the parser is an explicit state machine, so depth costs no Python stack, and counting nodes as
they are built (an alias counts as the full size of what it names) stops a "billion laughs"
after at most 10,000 steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ruamel.yaml import YAML
from ruamel.yaml import events as ev
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from configschema.nodes import Map, Node, Scalar, Seq, child_path, item_path
from configschema.prescan import deep_flow_position
from configschema.problems import DOCUMENT_START, Pos, Problem, ProblemSink
from configschema.scalars import ScalarError, core_tag, resolve_scalar, short_tag

MAX_BYTES = 256 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 64


class _Refused(Exception):
    """Stops the walk over the events: the document cannot be used at all."""


@dataclass
class Loaded:
    """What :func:`load` found: the root node (None when refused or empty) and the problems."""

    root: Node | None
    problems: list[Problem]
    refused: bool = False


@dataclass
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
    builder = _Builder(sink)
    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            builder.feed(event)
    except _Refused:
        return Loaded(None, sink.problems, refused=True)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = Pos(mark.line + 1, mark.column + 1) if mark else DOCUMENT_START
        sink.error(at, "", f"invalid YAML: {_describe(exc)}")
        return Loaded(None, sink.problems, refused=True)
    except YAMLError as exc:
        sink.error(DOCUMENT_START, "", f"invalid YAML: {exc}")
        return Loaded(None, sink.problems, refused=True)
    except RecursionError:
        # Not expected (nothing above recurses on depth); kept so a parser change cannot turn
        # a hostile document into a crash of the caller.
        sink.error(DOCUMENT_START, "", _too_deep())
        return Loaded(None, sink.problems, refused=True)
    return Loaded(builder.root, sink.problems)


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


def _pos(event: ev.Event) -> Pos:
    mark = event.start_mark
    return Pos(mark.line + 1, mark.column + 1)


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

    def feed(self, event: ev.Event) -> None:
        if isinstance(event, ev.ScalarEvent):
            self._scalar(event)
        elif isinstance(event, ev.SequenceStartEvent | ev.MappingStartEvent):
            self._start(event)
        elif isinstance(event, ev.SequenceEndEvent | ev.MappingEndEvent):
            self._end()
        elif isinstance(event, ev.AliasEvent):
            self._alias(event)
        elif isinstance(event, ev.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self._refuse(_pos(event), "only one YAML document is allowed; remove the '---'")

    def _refuse(self, at: Pos, message: str) -> None:
        self.sink.error(at, self._path(), message)
        raise _Refused

    def _grow(self, by: int, at: Pos) -> None:
        self.count += by
        if self.count > MAX_NODES:
            self._refuse(
                at,
                f"the document expands to more than {MAX_NODES:,} nodes "
                "(aliases are counted each time they are used); refused",
            )

    def _scalar(self, event: ev.ScalarEvent) -> None:
        at = _pos(event)
        self._grow(1, at)
        tag = self._check_tag(event.tag, at, collection=False)
        plain = event.style in (None, "")
        try:
            kind, value = resolve_scalar(event.value, plain, tag)
        except ScalarError as exc:
            self.sink.error(at, self._path(), str(exc))
            kind, value = "str", event.value
        node = Scalar(at.line, at.column, value, kind)
        if event.anchor:
            self.anchors[event.anchor] = (node, 1)
        self._attach(node)

    def _start(self, event: ev.CollectionStartEvent) -> None:
        at = _pos(event)
        if len(self.stack) >= MAX_DEPTH:
            self._refuse(at, _too_deep())
        self._grow(1, at)
        self._check_tag(
            event.tag, at, collection=True, mapping=isinstance(event, ev.MappingStartEvent)
        )
        node: Seq | Map = (
            Map(at.line, at.column)
            if isinstance(event, ev.MappingStartEvent)
            else Seq(at.line, at.column)
        )
        if event.anchor:
            self.open_anchors.add(event.anchor)
        self.stack.append(_Frame(node, self._path(), event.anchor, self.count - 1))

    def _end(self) -> None:
        frame = self.stack.pop()
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.node, self.count - frame.count_at_start)
        self._attach(frame.node)

    def _alias(self, event: ev.AliasEvent) -> None:
        at = _pos(event)
        if event.anchor in self.open_anchors:
            self._refuse(at, f"the alias *{event.anchor} refers to a node that contains it")
        if event.anchor not in self.anchors:
            self._refuse(at, f"the alias *{event.anchor} names no anchor defined before it")
        node, size = self.anchors[event.anchor]
        self._grow(size, at)
        self._attach(node)

    def _check_tag(
        self, tag: str | None, at: Pos, *, collection: bool, mapping: bool = False
    ) -> str | None:
        """Report a custom tag; return the tag when it may be honoured, else None."""
        name = core_tag(tag)
        shown = short_tag(tag or "")
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
