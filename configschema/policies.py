"""``policies:`` (SPEC §4.9): every policy key with its default.

``min_actor_role`` is the least GitLab role an event's actor must have (enforced by routing).

``max_cost_per_job``, ``daily_budget``, ``egress`` and ``announce`` are read and validated now
and enforced by later work; until then a tenant config that writes one gets a warning saying
what actually happens today (:data:`NOT_ENFORCED`). Remove a key's warning when it is enforced.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from configschema.hostpatterns import EXAMPLE as HOST_EXAMPLE
from configschema.hostpatterns import PatternError, parse_pattern
from configschema.model import Layer, Policies
from configschema.nodes import Node, Scalar, Seq, child_path, describe, item_path
from configschema.problems import ProblemSink
from configschema.readers import (
    MAX_TIMEOUT,
    as_duration,
    as_int,
    as_map,
    as_str,
    entries,
    expected,
)

POLICY_KEYS = (
    "cooldown",
    "concurrency",
    "default_timeout",
    "min_actor_role",
    "max_cost_per_job",
    "daily_budget",
    "egress",
    "announce",
)
MAX_CONCURRENCY = 100
ANNOUNCE = ("none", "reaction", "summary")
# GitLab's roles a tenant may require of an event's actor, lowest first, with their access
# levels (Gitlab::Access).
ACTOR_ROLE_LEVELS = {"guest": 10, "reporter": 20, "developer": 30, "maintainer": 40, "owner": 50}
ACTOR_ROLES = tuple(ACTOR_ROLE_LEVELS)
_INVALID: Any = object()  # a reader's answer after it reported a problem

# What happens today, said where a tenant writes a key that is accepted but not yet enforced.
NOT_ENFORCED = {
    "max_cost_per_job": (
        "accepted but not enforced yet: a job's LLM spend is not capped; the job's container "
        "calls the LLM provider directly with the tenant's key"
    ),
    "daily_budget": (
        "accepted but not enforced yet: the tenant's LLM spend per day is not capped and jobs "
        "keep starting; job containers call the LLM provider directly with the tenant's key"
    ),
    "egress": (
        "accepted but not enforced yet: jobs can still reach any host; job containers have "
        "direct network access and there is no egress proxy"
    ),
    "announce": (
        "accepted but not enforced yet: Mate itself posts nothing in GitLab (no 👀 award, no "
        "closing note); only what the agent writes with its tools appears there"
    ),
}
# Written values that already describe today's behaviour, so warning about them would be wrong.
IN_FORCE_TODAY: dict[str, tuple[object, ...]] = {"daily_budget": (None,), "announce": ("none",)}


def read_policies(node: Node, sink: ProblemSink, layer: Layer = "tenant") -> Policies:
    """The policies written, defaults for the rest (also when a value is invalid).

    ``layer`` is the document: only the tenant config's policies apply (SPEC §4.2), so only
    there do keys that are accepted but not yet enforced get a warning.
    """
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
    return _read_pending(found, policies, sink, warn=layer == "tenant")


def _actor_role(node: Node, sink: ProblemSink) -> str | None:
    path = "policies.min_actor_role"
    choices = ", ".join(ACTOR_ROLES)
    value = as_str(node, path, sink, f"one of {choices}")
    if value is not None and value not in ACTOR_ROLES:
        sink.error(node, path, f"unknown role {value}; expected one of: {choices}")
        return None
    return value


def _read_pending(
    found: dict[str, tuple[Scalar, Node]], policies: Policies, sink: ProblemSink, *, warn: bool
) -> Policies:
    """The keys of :data:`NOT_ENFORCED`, each with its warning (``warn``) when valid."""
    values: dict[str, Any] = {}
    for name, reader in _PENDING_READERS.items():
        if name not in found:
            continue
        key, value_node = found[name]
        path = child_path("policies", name)
        value = reader(value_node, path, sink)
        if value is _INVALID:
            continue
        values[name] = value
        if warn and value not in IN_FORCE_TODAY.get(name, ()):
            sink.warning(key, path, NOT_ENFORCED[name])
    return replace(policies, **values)


def as_usd(node: Node, path: str, sink: ProblemSink) -> Decimal | None:
    """An amount of US dollars: a finite YAML number greater than 0, as a Decimal.

    SPEC §4.9 sets no upper bound, so any finite positive number is accepted (a cap larger
    than any job can spend simply never stops one). Strings (``'5'``, ``$5``) and booleans are
    refused: an amount is written as a bare number.
    """
    shape = "a number of US dollars greater than 0, such as 5 or 2.50"
    value = node.value if isinstance(node, Scalar) and node.tag in ("int", "float") else None
    if not isinstance(value, int | float):
        hint = "; write the bare number without quotes or $" if _text(node) is not None else ""
        sink.error(node, path, expected(shape, node) + hint)
        return None
    if isinstance(value, float) and not math.isfinite(value):
        sink.error(node, path, f"expected {shape}, got {value}")
        return None
    if value <= 0:
        sink.error(node, path, f"must be greater than 0, got {value}")
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(value))


def _text(node: Node) -> str | None:
    """The value of a string scalar, else None."""
    return str(node.value) if isinstance(node, Scalar) and node.tag == "str" else None


def _max_cost(node: Node, path: str, sink: ProblemSink) -> Any:
    if isinstance(node, Scalar) and node.tag == "null":
        sink.error(
            node,
            path,
            "expected a number of US dollars greater than 0, got nothing (null); every job has "
            "a cap, so write an amount such as 5 (or leave the key out for the default, 5)",
        )
        return _INVALID
    value = as_usd(node, path, sink)
    return _INVALID if value is None else value


def _daily_budget(node: Node, path: str, sink: ProblemSink) -> Any:
    """An amount, or null: written empty it means what leaving it out means, no daily cap."""
    if isinstance(node, Scalar) and node.tag == "null":
        return None
    value = as_usd(node, path, sink)
    return _INVALID if value is None else value


def _egress(node: Node, path: str, sink: ProblemSink) -> Any:
    """A list (possibly empty) of host patterns, normalised, without duplicates."""
    if not isinstance(node, Seq):
        text = _text(node)
        hint = f"; write a list: [{text}]" if text is not None else ""
        if isinstance(node, Scalar) and node.tag == "null":
            hint = "; write egress: [] for no hosts"
        sink.error(node, path, expected(f"a list of host patterns {HOST_EXAMPLE}", node) + hint)
        return _INVALID
    patterns: list[str] = []
    first: dict[str, int] = {}
    ok = True
    for index, item in enumerate(node.items):
        at = item_path(path, index)
        text = _text(item)
        if text is None:
            sink.error(item, at, expected(f"a host pattern {HOST_EXAMPLE}", item))
            ok = False
            continue
        try:
            pattern = parse_pattern(text)
        except PatternError as exc:
            sink.error(item, at, str(exc))
            ok = False
            continue
        if pattern in first:
            sink.error(
                item, at, f"{pattern} is already listed at {item_path(path, first[pattern])}"
            )
            ok = False
            continue
        first[pattern] = index
        patterns.append(pattern)
    return tuple(patterns) if ok else _INVALID


def _announce(node: Node, path: str, sink: ProblemSink) -> Any:
    text = _text(node)
    if text in ANNOUNCE:
        return text
    choices = ", ".join(ANNOUNCE)
    if text is not None:
        sink.error(node, path, f"unknown value {text!r}; expected one of: {choices}")
    elif isinstance(node, Scalar) and node.tag == "null":
        sink.error(
            node, path, f"expected one of: {choices}, got nothing (null); for no answers write none"
        )
    else:
        sink.error(node, path, f"expected one of: {choices}, got {describe(node)}")
    return _INVALID


_PENDING_READERS: dict[str, Callable[[Node, str, ProblemSink], Any]] = {
    "max_cost_per_job": _max_cost,
    "daily_budget": _daily_budget,
    "egress": _egress,
    "announce": _announce,
}
