"""``policies:`` (SPEC §4.9): cooldown, concurrency, default timeout and the least role of an
event's actor, with defaults."""

from __future__ import annotations

from dataclasses import replace

from configschema.model import Policies
from configschema.nodes import Node, Scalar, child_path
from configschema.problems import ProblemSink
from configschema.readers import MAX_TIMEOUT, as_duration, as_int, as_map, as_str, entries

POLICY_KEYS = ("cooldown", "concurrency", "default_timeout", "min_actor_role")
MAX_CONCURRENCY = 100
# GitLab's roles a tenant may require of an event's actor, lowest first (Gitlab::Access).
ACTOR_ROLES = ("guest", "reporter", "developer", "maintainer", "owner")


def read_policies(node: Node, sink: ProblemSink) -> Policies:
    """The policies written, defaults for the rest (also when a value is invalid)."""
    policies = Policies()
    if isinstance(node, Scalar) and node.tag == "null":
        return policies
    mapping = as_map(node, "policies", sink, "a mapping of policies")
    if mapping is None:
        return policies
    found = entries(mapping, "policies", sink, POLICY_KEYS)
    if "cooldown" in found:
        cooldown = as_duration(
            found["cooldown"][1], "policies.cooldown", sink, positive=False, limit=None
        )
        policies = replace(policies, cooldown=cooldown) if cooldown is not None else policies
    if "concurrency" in found:
        value = as_int(found["concurrency"][1], "policies.concurrency", sink, 1, MAX_CONCURRENCY)
        policies = replace(policies, concurrency=value) if value is not None else policies
    if "default_timeout" in found:
        timeout = as_duration(
            found["default_timeout"][1],
            child_path("policies", "default_timeout"),
            sink,
            positive=True,
            limit=MAX_TIMEOUT,
        )
        policies = replace(policies, default_timeout=timeout) if timeout else policies
    if "min_actor_role" in found:
        role = _actor_role(found["min_actor_role"][1], sink)
        policies = replace(policies, min_actor_role=role) if role else policies
    return policies


def _actor_role(node: Node, sink: ProblemSink) -> str | None:
    path = "policies.min_actor_role"
    expected = ", ".join(ACTOR_ROLES)
    value = as_str(node, path, sink, f"one of {expected}")
    if value is not None and value not in ACTOR_ROLES:
        sink.error(node, path, f"unknown role {value}; expected one of: {expected}")
        return None
    return value
