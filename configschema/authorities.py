"""Authorities (SPEC §4.7): the grantable capabilities, and reading lists of them."""

from __future__ import annotations

from collections.abc import Iterable

from configschema.nodes import Node, Scalar, Seq, item_path
from configschema.problems import ProblemSink
from configschema.readers import expected

# In SPEC order; this order is also the order used whenever a set of authorities is printed.
AUTHORITIES: tuple[str, ...] = (
    "read",
    "comment",
    "push_branch",
    "push_mr_branch",
    "open_mr",
    "touch_ci",
    "merge",
)
APPROVE_MR = "approve_mr"
APPROVE_MR_MESSAGE = "approve_mr is not a grantable authority; approval is always a human action"


def ordered(authorities: Iterable[str]) -> tuple[str, ...]:
    """The given authorities in SPEC order (unknown names are dropped)."""
    wanted = set(authorities)
    return tuple(a for a in AUTHORITIES if a in wanted)


def read_authorities(
    node: Node, path: str, sink: ProblemSink, *, required: bool
) -> tuple[str, ...] | None:
    """A list of authorities. ``required`` (permissions) also forbids empty lists and duplicates.

    Returns the valid entries in written order, or None when the node is not a list at all.
    """
    if not isinstance(node, Seq):
        sink.error(node, path, expected("a list of authorities such as [read, comment]", node))
        return None
    if required and not node.items:
        sink.error(node, path, "must list at least one authority")
    found: list[str] = []
    for index, item in enumerate(node.items):
        name = _authority(item, item_path(path, index), sink)
        if name is None:
            continue
        if name in found:
            if required:
                sink.error(item, item_path(path, index), f"duplicate authority {name}")
            continue
        found.append(name)
    return tuple(found)


def _authority(node: Node, path: str, sink: ProblemSink) -> str | None:
    if not isinstance(node, Scalar) or node.tag != "str":
        sink.error(node, path, expected("an authority name", node))
        return None
    name = str(node.value)
    if name == APPROVE_MR:
        sink.error(node, path, APPROVE_MR_MESSAGE)
        return None
    if name not in AUTHORITIES:
        sink.error(
            node, path, f"unknown authority {name}; valid authorities: {', '.join(AUTHORITIES)}"
        )
        return None
    return name
