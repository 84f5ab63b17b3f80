"""A trigger's ``if:`` (SPEC §4.6): the keys, which events each applies to, and evaluation."""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import Any

from configschema.events import EVENTS, EventFacts
from configschema.model import Conditions
from configschema.nodes import Node, child_path
from configschema.problems import ProblemSink
from configschema.readers import as_bool, as_map, as_str, entries, str_list

_NOT_PIPELINE = tuple(e for e in EVENTS if e != "pipeline_failed")
_MR_FLAVOURED = ("mr_assigned", "mr_opened", "comment_mention", "label_applied")

# key -> events it can apply to. target_branch & co. also apply to comment_mention and
# label_applied, where they are simply false when the object is an issue.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "assignee": _NOT_PIPELINE,
    "author": _NOT_PIPELINE,
    "target_branch": _MR_FLAVOURED,
    "source_branch": _MR_FLAVOURED,
    "mr_draft": _MR_FLAVOURED,
    "labels": _NOT_PIPELINE,
    "target": ("comment_mention", "label_applied"),
    "ref": ("pipeline_failed",),
    "project": EVENTS,
}
IF_KEYS = tuple(APPLIES_TO)
TARGETS = ("issue", "merge_request")

Reader = Callable[[Node, str, ProblemSink], Any]


def _target(node: Node, path: str, sink: ProblemSink) -> str | None:
    value = as_str(node, path, sink, "issue or merge_request")
    if value is not None and value not in TARGETS:
        sink.error(node, path, f"unknown target {value}; expected issue or merge_request")
        return None
    return value


_READERS: dict[str, Reader] = {
    "assignee": lambda n, p, s: str_list(n, p, s, "username"),
    "author": lambda n, p, s: str_list(n, p, s, "username"),
    "target_branch": lambda n, p, s: str_list(n, p, s, "branch glob"),
    "source_branch": lambda n, p, s: str_list(n, p, s, "branch glob"),
    "mr_draft": as_bool,
    "labels": lambda n, p, s: str_list(n, p, s, "label", single=False),
    "target": _target,
    "ref": lambda n, p, s: str_list(n, p, s, "ref glob"),
    "project": lambda n, p, s: str_list(n, p, s, "project path glob"),
}


def read_conditions(
    node: Node, path: str, sink: ProblemSink, event: str | None
) -> Conditions | None:
    """Read ``if:``. ``event`` is the trigger's valid ``on:`` (None: applicability unknown)."""
    mapping = as_map(node, path, sink, "a mapping of conditions")
    if mapping is None:
        return None
    values: dict[str, Any] = {}
    for key, (key_node, value) in entries(mapping, path, sink, IF_KEYS).items():
        if event is not None and event not in APPLIES_TO[key]:
            sink.error(key_node, child_path(path, key), f"if.{key} does not apply to {event}")
            continue
        values[key] = _READERS[key](value, child_path(path, key), sink)
    return Conditions(**{k: v for k, v in values.items() if v is not None})


def _any_glob(value: str | None, globs: tuple[str, ...]) -> bool:
    return value is not None and any(fnmatchcase(value, g) for g in globs)


def _on_mr(facts: EventFacts) -> bool:
    return facts.object_kind == "merge_request"


def conditions_hold(cond: Conditions, facts: EventFacts) -> bool:
    """True when every condition that is set holds for ``facts`` (an absent fact is false)."""
    checks = (
        cond.assignee is None or any(a in facts.assignees for a in cond.assignee),
        cond.author is None or facts.author in cond.author,
        cond.target_branch is None
        or (_on_mr(facts) and _any_glob(facts.target_branch, cond.target_branch)),
        cond.source_branch is None
        or (_on_mr(facts) and _any_glob(facts.source_branch, cond.source_branch)),
        cond.mr_draft is None or (_on_mr(facts) and facts.draft == cond.mr_draft),
        cond.labels is None or all(label in facts.labels for label in cond.labels),
        cond.target is None or facts.object_kind == cond.target,
        cond.ref is None or _any_glob(facts.ref, cond.ref),
        cond.project is None or _any_glob(facts.project, cond.project),
    )
    return all(checks)
