"""Which payload fields Mate's event detection reads, and their JSON shapes.

`read_paths` runs detection (`derive_events` and `involved_user_ids`, which routing calls on the
same payload) over a copy of the payload whose objects record every key looked up. So the set
of fields the compatibility suite compares is whatever detection reads today, not a hand list.

A path names a field from the payload's root: `object_attributes.labels[].title`; `[]` stands
for every element of a list. `shapes_at` gives the JSON shape of the values at a path (type,
plus timestamp/URL form for strings and emptiness for lists), which is what is compared: ids and
other values differ between GitLab's examples and the simulator by design.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from jobs.events import BotRef, derive_events, involved_user_ids

WHOLE = "*"  # a path ending in ".*": the object was iterated, every key counts as read


@dataclass
class Reads:
    """The key paths looked up during one detection run."""

    paths: set[str] = field(default_factory=set)

    def add(self, prefix: str, key: object) -> None:
        self.paths.add(f"{prefix}.{key}" if prefix else str(key))


class RecordingObject(dict):
    """A JSON object that notes, in `reads`, every key looked up (present or not)."""

    def __init__(self, data: dict, prefix: str, reads: Reads) -> None:
        super().__init__({k: _wrap(v, _join(prefix, k), reads) for k, v in data.items()})
        self._prefix, self._reads = prefix, reads

    def get(self, key, default=None):  # noqa: ANN001, ANN201 - dict's own signature
        self._reads.add(self._prefix, key)
        return super().get(key, default)

    def __getitem__(self, key):  # noqa: ANN001, ANN204
        self._reads.add(self._prefix, key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._reads.add(self._prefix, key)
        return super().__contains__(key)

    def __iter__(self) -> Iterator:
        self._reads.add(self._prefix, WHOLE)
        return super().__iter__()

    def keys(self):  # noqa: ANN201
        self._reads.add(self._prefix, WHOLE)
        return super().keys()

    def values(self):  # noqa: ANN201
        self._reads.add(self._prefix, WHOLE)
        return super().values()

    def items(self):  # noqa: ANN201
        self._reads.add(self._prefix, WHOLE)
        return super().items()


def _join(prefix: str, key: object) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


def _wrap(value: object, path: str, reads: Reads) -> object:
    if isinstance(value, dict):
        return RecordingObject(value, path, reads)
    if isinstance(value, list):
        return [_wrap(item, f"{path}[]", reads) for item in value]
    return value


def read_paths(
    hook: str, payload: dict, bots: Sequence[BotRef], default_bot: str | None
) -> set[str]:
    """The paths detection reads from `payload` (delivered as `hook`) with this roster."""
    reads = Reads()
    derive_events(hook, _wrap(payload, "", reads), bots, default_bot)
    involved_user_ids(_wrap(payload, "", reads))
    return reads.paths


# -- reading values back by path ---------------------------------------------------------------

_MISSING = object()


@dataclass(frozen=True)
class Found:
    """What a path leads to in one payload.

    `values` are the values found (a null counts: the key is there). `blocked` is True when the
    path ran into an empty list, so absence says nothing about whether GitLab sends the field.
    """

    values: tuple[object, ...]
    blocked: bool

    @property
    def present(self) -> bool:
        return bool(self.values)


def _steps(path: str) -> list[tuple[str, bool]]:
    """`a.b[].c` → [("a", False), ("b", True), ("c", False)] (True: iterate the list)."""
    return [(part.removesuffix("[]"), part.endswith("[]")) for part in path.split(".")]


def find(payload: object, path: str) -> Found:
    """The values at `path` in `payload` (see `Found`)."""
    current: list[object] = [payload]
    blocked = False
    for key, each in _steps(path):
        following: list[object] = []
        for node in current:
            if key == WHOLE:
                following.extend(node.values() if isinstance(node, dict) else [])
                continue
            value = dict.get(node, key, _MISSING) if isinstance(node, dict) else _MISSING
            if value is _MISSING:
                continue
            if each:
                if isinstance(value, list):
                    blocked = blocked or not value
                    following.extend(value)
                continue
            following.append(value)
        current = following
    return Found(tuple(current), blocked and not current)


_UTC = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def shape(value: object) -> str:
    """The JSON shape of one value: its type, a string's timestamp/URL form, a list's emptiness."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        # GitLab's own payloads show both forms for the same field (ISO 8601 in older doc
        # examples, 'YYYY-MM-DD HH:MM:SS UTC' in newer ones): one shape, so Mate must read
        # either (it keeps timestamps as opaque strings).
        if _UTC.fullmatch(value) or _ISO.fullmatch(value):
            return "string(timestamp)"
        if value.startswith(("http://", "https://")):
            return "string(URL)"
        return "string"
    if isinstance(value, list):
        return "array(empty)" if not value else "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def shapes_at(payload: object, path: str) -> frozenset[str]:
    """The shapes of every value at `path` (empty when the field is absent)."""
    return frozenset(shape(v) for v in find(payload, path).values)


def differences(real: dict, emitted: dict, paths: Iterable[str]) -> list[str]:
    """One line per path whose presence or shapes differ between `real` and `emitted`."""
    lines = []
    for path in sorted(paths):
        if path.endswith(f".{WHOLE}") or path == WHOLE:
            lines += _whole_object_differences(real, emitted, path)
            continue
        want, got = find(real, path), find(emitted, path)
        if want.blocked and got.blocked:
            continue
        real_shapes, sim_shapes = shapes_at(real, path), shapes_at(emitted, path)
        if real_shapes != sim_shapes:
            lines.append(
                f"{path}: GitLab {_describe(real_shapes)}, simulator {_describe(sim_shapes)}"
            )
    return lines


def _whole_object_differences(real: dict, emitted: dict, path: str) -> list[str]:
    """For an iterated object: its keys must match, each with the same shapes."""
    parent = path.removesuffix(WHOLE).removesuffix(".")
    keys: set[str] = set()
    for doc in (real, emitted):
        for node in find(doc, parent).values if parent else (doc,):
            keys |= set(node) if isinstance(node, dict) else set()
    return differences(real, emitted, {_join(parent, k) for k in keys})


def _describe(shapes: frozenset[str]) -> str:
    return "absent" if not shapes else " | ".join(sorted(shapes))
