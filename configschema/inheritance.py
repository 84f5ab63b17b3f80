"""``extends`` inside the tenant config (SPEC §4.4): shallow, chained, cycles refused.

Chains are followed with a loop and a memo, not recursion: a 256 KiB document can hold a chain
of thousands of agents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from configschema.model import INHERITED_FIELDS, REQUIRED_FIELDS, AgentSpec, ResolvedAgent
from configschema.nodes import child_path
from configschema.problems import ProblemSink

Fields = dict[str, Any]


def own_fields(spec: AgentSpec) -> Fields:
    """The inheritable fields an agent entry sets itself."""
    return {f: getattr(spec, f) for f in INHERITED_FIELDS if getattr(spec, f) is not None}


def resolve_tenant_agents(
    specs: Mapping[str, AgentSpec], default_timeout: timedelta, sink: ProblemSink
) -> dict[str, ResolvedAgent]:
    """Resolve every tenant agent; report unknown bases, cycles and missing required fields.

    Agents that cannot be resolved (unknown base or cycle anywhere up their chain) are left
    out of the result; the error is reported once, where the chain breaks.
    """
    _report_unknown_bases(specs, sink)
    flat = _flatten(specs, own_fields, sink)
    # Fields written anywhere up the chain, valid or not: an invalid value is already reported
    # and must not be reported a second time as missing.
    written = _flatten(specs, lambda spec: dict.fromkeys(spec.positions, True), ProblemSink())
    resolved: dict[str, ResolvedAgent] = {}
    for name, spec in specs.items():
        fields = flat.get(name)
        if fields is None:
            continue
        absent = [f for f in REQUIRED_FIELDS if f not in fields]
        missing = [f for f in absent if f not in (written.get(name) or {})]
        if missing:
            sink.error(
                spec.at,
                child_path("agents", name),
                f"agent {name} has no {', '.join(missing)}; set it here or in the agent it extends",
            )
            continue
        if absent:
            continue
        resolved[name] = build_agent(
            name, fields, default_timeout, origin="tenant", base=spec.extends
        )
    return resolved


def build_agent(
    name: str, fields: Fields, default_timeout: timedelta, *, origin: str, base: str | None
) -> ResolvedAgent:
    """A resolved agent from complete fields (the required ones must be present)."""
    return ResolvedAgent(
        name=name,
        backend=fields["backend"],
        model=fields["model"],
        system_prompt=fields["system_prompt"],
        permissions=tuple(fields["permissions"]),
        description=fields.get("description"),
        image=fields.get("image"),
        timeout=fields.get("timeout") or default_timeout,
        env=dict(fields.get("env") or {}),
        keep_container=bool(fields.get("keep_container", False)),
        origin=origin,  # type: ignore[arg-type]
        base=base,
    )


def _report_unknown_bases(specs: Mapping[str, AgentSpec], sink: ProblemSink) -> None:
    for name, spec in specs.items():
        if spec.extends is not None and spec.extends not in specs:
            known = ", ".join(specs) or "none"
            sink.error(
                spec.pos("extends"),
                child_path(child_path("agents", name), "extends"),
                f"unknown base agent {spec.extends}; the tenant config defines: {known}",
            )


def _flatten(
    specs: Mapping[str, AgentSpec], own: Callable[[AgentSpec], Fields], sink: ProblemSink
) -> dict[str, Fields | None]:
    """Each agent's ``own`` fields with its whole chain applied; None where the chain breaks."""
    flat: dict[str, Fields | None] = {}
    reported: set[frozenset[str]] = set()
    for start in specs:
        trail: list[str] = []
        name: str | None = start
        base: Fields | None = {}
        while name is not None:
            if name in flat:
                base = flat[name]
                break
            if name in trail:
                _report_cycle(trail[trail.index(name) :] + [name], specs, sink, reported)
                base = None
                break
            if name not in specs:
                base = None
                break
            trail.append(name)
            name = specs[name].extends
        for member in reversed(trail):
            base = None if base is None else {**base, **own(specs[member])}
            flat[member] = base
    return flat


def _report_cycle(
    cycle: list[str],
    specs: Mapping[str, AgentSpec],
    sink: ProblemSink,
    reported: set[frozenset[str]],
) -> None:
    members = frozenset(cycle)
    if members in reported:
        return
    reported.add(members)
    first = specs[cycle[0]]
    sink.error(
        first.pos("extends"),
        child_path(child_path("agents", cycle[0]), "extends"),
        "extends cycle: " + " -> ".join(cycle),
    )
