"""``triggers:`` (SPEC §4.6): the ordered list of event → agent rules."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from configschema.authorities import read_authorities
from configschema.conditions import read_conditions
from configschema.events import EVENTS
from configschema.model import Origin, Trigger
from configschema.nodes import Map, Node, Scalar, Seq, child_path, item_path
from configschema.problems import Pos, ProblemSink
from configschema.readers import Entries, as_map, as_str, entries, expected, str_list

TRIGGER_KEYS = ("on", "agent", "deny", "if", "when", "mention", "label")
WHEN_WARNING = "when: is accepted but not enforced; use if:"
# Trigger keys that only make sense for one event.
_ONLY_FOR = {"mention": "comment_mention", "label": "label_applied"}


def read_triggers(
    node: Node, sink: ProblemSink, agents: Collection[str], origin: Origin
) -> tuple[Trigger, ...]:
    """The triggers of one document. ``agents``: the agent names a trigger may name."""
    if isinstance(node, Scalar) and node.tag == "null":
        return ()
    if not isinstance(node, Seq):
        sink.error(node, "triggers", expected("a list of triggers", node))
        return ()
    found = []
    for index, item in enumerate(node.items):
        trigger = read_trigger(item, index, sink, agents, origin)
        if trigger is not None:
            found.append(trigger)
    return tuple(found)


def read_trigger(
    node: Node, index: int, sink: ProblemSink, agents: Collection[str], origin: Origin
) -> Trigger | None:
    """One trigger, or None when it is unusable (the problems are reported)."""
    path = item_path("triggers", index)
    mapping = as_map(node, path, sink, "a trigger (a mapping with on: and agent:)")
    if mapping is None:
        return None
    found = entries(mapping, path, sink, TRIGGER_KEYS)
    on = _required(mapping, found, "on", path, sink)
    event = _event(on, path, sink)
    agent = _required(mapping, found, "agent", path, sink)
    agent_name = _agent(agent, path, sink, agents)
    values: dict[str, Any] = {}
    if "deny" in found:
        values["deny"] = read_authorities(
            found["deny"][1], child_path(path, "deny"), sink, required=False
        )
    if "if" in found:
        values["conditions"] = read_conditions(found["if"][1], child_path(path, "if"), sink, event)
    if "when" in found:
        values["when_assignee_in"] = _when(found["when"], child_path(path, "when"), sink)
    for key, only in _ONLY_FOR.items():
        if key in found:
            values[key] = _event_specific(found[key], key, only, event, path, sink)
    if event is None or agent_name is None:
        return None
    values = {k: v for k, v in values.items() if v is not None}
    at = Pos(mapping.line, mapping.column)
    return Trigger(on=event, agent=agent_name, origin=origin, index=index, at=at, **values)


def _required(mapping: Map, found: Entries, key: str, path: str, sink: ProblemSink) -> Node | None:
    if key in found:
        return found[key][1]
    sink.error(mapping, path, f"a trigger needs {key}:")
    return None


def _event(node: Node | None, path: str, sink: ProblemSink) -> str | None:
    if node is None:
        return None
    where = child_path(path, "on")
    value = as_str(node, where, sink, "an event name")
    if value is not None and value not in EVENTS:
        sink.error(node, where, f"unknown event {value}; expected one of: {', '.join(EVENTS)}")
        return None
    return value


def _agent(node: Node | None, path: str, sink: ProblemSink, agents: Collection[str]) -> str | None:
    if node is None:
        return None
    where = child_path(path, "agent")
    value = as_str(node, where, sink, "an agent name")
    if value is not None and value not in agents:
        known = ", ".join(sorted(agents)) or "none are defined"
        sink.error(node, where, f"unknown agent {value}; agents: {known}")
        return None
    return value


def _when(entry: tuple[Scalar, Node], path: str, sink: ProblemSink) -> tuple[str, ...] | None:
    """``when:`` is validated, warned about, and kept only for display."""
    key, node = entry
    sink.warning(key, path, WHEN_WARNING)
    mapping = as_map(node, path, sink, "a mapping with assignee_in:")
    if mapping is None:
        return None
    found = entries(mapping, path, sink, ("assignee_in",))
    if "assignee_in" not in found:
        return None
    value = found["assignee_in"][1]
    return str_list(value, child_path(path, "assignee_in"), sink, "username", single=False)


def _event_specific(
    entry: tuple[Scalar, Node],
    key: str,
    only: str,
    event: str | None,
    path: str,
    sink: ProblemSink,
) -> Any:
    """``mention:`` (comment_mention) and ``label:`` (label_applied)."""
    key_node, node = entry
    where = child_path(path, key)
    if event is not None and event != only:
        sink.error(key_node, where, f"{key}: applies only to {only} triggers, not {event}")
        return None
    if key == "label":
        return str_list(node, where, sink, "label")
    name = as_str(node, where, sink, "a bot username")
    # "@mate-bot" and "mate-bot" mean the same bot; GitLab usernames never start with "@".
    return name[1:] if name is not None and name.startswith("@") else name
