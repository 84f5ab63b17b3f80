"""Typed readers: take a node, check its type, report a problem or return the plain value.

Every reader returns None after reporting, so callers can carry on and find further problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from configschema.durations import EXPECTED as DURATION_EXPECTED
from configschema.durations import format_duration, parse_duration
from configschema.nodes import Map, Node, Scalar, Seq, child_path, describe, item_path
from configschema.problems import ProblemSink

MAX_TIMEOUT = timedelta(hours=24)
Entries = dict[str, tuple[Scalar, Node]]


def expected(what: str, node: Node) -> str:
    return f"expected {what}, got {describe(node)}"


def entries(
    node: Map,
    path: str,
    sink: ProblemSink,
    allowed: tuple[str, ...],
    special: Mapping[str, str] | None = None,
) -> Entries:
    """The known keys of a mapping; a key in ``special`` gets that message, others a list."""
    found: Entries = {}
    for key, value in node.entries:
        name = key.value if key.tag == "str" else None
        if name in allowed:
            found[name] = (key, value)
        elif special and name in special:
            sink.error(key, child_path(path, name), special[name])
        else:
            shown = name if name is not None else f"{key.value!r} ({describe(key)})"
            sink.error(
                key,
                child_path(path, str(key.value)),
                f"unknown key {shown}; expected one of: {', '.join(allowed)}",
            )
    return found


def as_map(node: Node, path: str, sink: ProblemSink, what: str = "a mapping") -> Map | None:
    if isinstance(node, Map):
        return node
    sink.error(node, path, expected(what, node))
    return None


def as_str(node: Node, path: str, sink: ProblemSink, what: str = "a string") -> str | None:
    """A non-empty string (blank strings are refused: every string field means something)."""
    if not isinstance(node, Scalar) or node.tag != "str":
        sink.error(node, path, expected(what, node))
        return None
    if not str(node.value).strip():
        sink.error(node, path, f"expected {what}, got an empty string")
        return None
    return str(node.value)


def as_text(node: Node, path: str, sink: ProblemSink) -> str | None:
    """Any string, empty allowed (prompts and descriptions)."""
    if isinstance(node, Scalar) and node.tag == "str":
        return str(node.value)
    sink.error(node, path, expected("a string", node))
    return None


def as_bool(node: Node, path: str, sink: ProblemSink) -> bool | None:
    if isinstance(node, Scalar) and node.tag == "bool":
        return bool(node.value)
    sink.error(node, path, expected("true or false", node))
    return None


def as_int(node: Node, path: str, sink: ProblemSink, low: int, high: int) -> int | None:
    if not isinstance(node, Scalar) or node.tag != "int":
        sink.error(node, path, expected(f"an integer from {low} to {high}", node))
        return None
    value = int(node.value)  # type: ignore[arg-type]
    if not low <= value <= high:
        sink.error(node, path, f"must be an integer from {low} to {high}, got {value}")
        return None
    return value


def str_list(
    node: Node, path: str, sink: ProblemSink, what: str, *, single: bool = True
) -> tuple[str, ...] | None:
    """A non-empty list of non-empty strings, or (``single``) one bare string.

    ``what`` names one item without an article: ``username``, ``label``.
    """
    if single and isinstance(node, Scalar) and node.tag == "str":
        value = as_str(node, path, sink, f"a {what}")
        return None if value is None else (value,)
    if not isinstance(node, Seq):
        shape = f"a {what} or a list of them" if single else f"a list of {what}s"
        sink.error(node, path, expected(shape, node))
        return None
    if not node.items:
        sink.error(node, path, f"expected at least one {what}, got an empty list")
        return None
    values = [
        as_str(item, item_path(path, i), sink, f"a {what}") for i, item in enumerate(node.items)
    ]
    return None if None in values else tuple(v for v in values if v is not None)


def as_duration(
    node: Node, path: str, sink: ProblemSink, *, positive: bool, limit: timedelta | None
) -> timedelta | None:
    """A Go duration string; bare YAML numbers are refused with SPEC's exact text."""
    if not isinstance(node, Scalar) or node.tag != "str":
        sink.error(node, path, DURATION_EXPECTED)
        return None
    try:
        value = parse_duration(str(node.value))
    except ValueError as exc:
        sink.error(node, path, f"{exc}; {DURATION_EXPECTED}")
        return None
    if positive and value <= timedelta(0):
        sink.error(node, path, "must be longer than 0")
        return None
    if limit is not None and value > limit:
        sink.error(node, path, f"must be at most {format_duration(limit)}, got {node.value}")
        return None
    return value
