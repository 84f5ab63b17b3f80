"""The YAML node tree the loader builds: plain values plus 1-based positions.

Aliases make the tree a DAG: an alias is the very node object its anchor names. The loader
guarantees the expanded size is bounded, so walking the tree is always cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

ScalarValue = Union[str, int, float, bool, None]  # noqa: UP007 (a runtime alias)


@dataclass(eq=False, slots=True)
class Scalar:
    """A scalar resolved by the YAML 1.2 core schema; ``tag`` is str|int|float|bool|null."""

    line: int
    column: int
    value: ScalarValue
    tag: str


@dataclass(eq=False, slots=True)
class Seq:
    line: int
    column: int
    items: list[Node] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class Map:
    """A mapping with scalar keys, in document order (duplicate keys never get this far)."""

    line: int
    column: int
    entries: list[tuple[Scalar, Node]] = field(default_factory=list)

    def get(self, key: str) -> Node | None:
        for k, v in self.entries:
            if k.value == key and k.tag == "str":
                return v
        return None


Node = Union[Scalar, Seq, Map]  # noqa: UP007 (a runtime alias)

_SCALAR_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "nothing (null)",
}


def describe(node: Node) -> str:
    """What a node is, for messages such as ``expected a string, got a list``."""
    if isinstance(node, Map):
        return "a mapping"
    if isinstance(node, Seq):
        return "a list"
    return _SCALAR_NAMES[node.tag]


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def item_path(path: str, index: int) -> str:
    return f"{path}[{index}]"
