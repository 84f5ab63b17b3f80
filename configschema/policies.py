"""``policies:`` (SPEC §4.9): cooldown, concurrency and default timeout, with defaults."""

from __future__ import annotations

from dataclasses import replace

from configschema.model import Policies
from configschema.nodes import Node, Scalar, child_path
from configschema.problems import ProblemSink
from configschema.readers import MAX_TIMEOUT, as_duration, as_int, as_map, entries

POLICY_KEYS = ("cooldown", "concurrency", "default_timeout")
MAX_CONCURRENCY = 100


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
    return policies
