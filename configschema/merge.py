"""The ``.mate.yml`` overlay (SPEC §4.5) and the merged view a repository's events see.

Rules, in short: a repo agent builds on a *tenant* agent (the same-named one, or the one its
``extends`` names), never on another repo agent; its permissions must stay within the tenant
agent it builds on and, when it replaces a tenant agent of its own name, within that one too;
repo triggers come before tenant triggers.
"""

from __future__ import annotations

from collections.abc import Mapping

from configschema.inheritance import build_agent, own_fields
from configschema.model import (
    AgentSpec,
    MergedConfig,
    RepoConfig,
    ResolvedAgent,
    TenantConfig,
    Trigger,
)
from configschema.nodes import child_path
from configschema.problems import ConfigError, ProblemSink

NEW_AGENT_MESSAGE = (
    "agent {name} is not defined in the tenant config; a new agent in .mate.yml needs extends:"
)


def overlay_agents(
    tenant: TenantConfig, specs: Mapping[str, AgentSpec], sink: ProblemSink
) -> dict[str, ResolvedAgent]:
    """Resolve the repo agents against the tenant; report every overlay problem."""
    resolved: dict[str, ResolvedAgent] = {}
    for spec in specs.values():
        agent = overlay_agent(tenant, spec, sink)
        if agent is not None:
            resolved[spec.name] = agent
    return resolved


def overlay_agent(tenant: TenantConfig, spec: AgentSpec, sink: ProblemSink) -> ResolvedAgent | None:
    """One repo agent built on its tenant base, or None after reporting why it cannot be."""
    path = child_path("agents", spec.name)
    base = _base_of(tenant, spec, sink)
    if base is None:
        return None
    fields = _fields(base, spec)
    agent = build_agent(spec.name, fields, base.timeout, origin="repo", base=base.name)
    ceilings = [base]
    same_name = tenant.agents.get(spec.name)
    if same_name is not None and same_name is not base:
        ceilings.insert(0, same_name)
    for ceiling in ceilings:
        adds = [p for p in agent.permissions if p not in ceiling.permissions]
        if adds:
            sink.error(
                spec.pos("permissions"),
                child_path(path, "permissions"),
                f"{child_path(path, 'permissions')}: not a subset of base agent "
                f"{ceiling.name} (adds: {', '.join(adds)})",
            )
            return None
    return agent


def _base_of(tenant: TenantConfig, spec: AgentSpec, sink: ProblemSink) -> ResolvedAgent | None:
    path = child_path("agents", spec.name)
    if spec.extends is not None:
        base = tenant.agents.get(spec.extends)
        if base is None:
            sink.error(
                spec.pos("extends"),
                child_path(path, "extends"),
                f"unknown base agent {spec.extends}: an agent in .mate.yml can only extend an "
                f"agent of the tenant config ({', '.join(tenant.agents) or 'none'})",
            )
        return base
    base = tenant.agents.get(spec.name)
    if base is None:
        sink.error(spec.at, path, NEW_AGENT_MESSAGE.format(name=spec.name))
    return base


def _fields(base: ResolvedAgent, spec: AgentSpec) -> dict[str, object]:
    """The base agent's fields overlaid by the repo entry; ``system_prompt_append`` applied."""
    fields: dict[str, object] = {
        "backend": base.backend,
        "model": base.model,
        "system_prompt": base.system_prompt,
        "permissions": base.permissions,
        "description": base.description,
        "image": base.image,
        "timeout": base.timeout,
        "env": dict(base.env),
        "keep_container": base.keep_container,
    }
    fields.update(own_fields(spec))
    if spec.system_prompt_append is not None:
        fields["system_prompt"] = append_prompt(base.system_prompt, spec.system_prompt_append)
    return fields


def append_prompt(prompt: str, suffix: str) -> str:
    """``suffix`` after ``prompt``, separated by exactly one blank line."""
    head = prompt.rstrip("\n")
    return f"{head}\n\n{suffix}" if head else suffix


def unknown_trigger_agents(
    triggers: tuple[Trigger, ...], agents: Mapping[str, object], sink: ProblemSink
) -> None:
    for trigger in triggers:
        if trigger.agent not in agents:
            sink.error(
                trigger.at,
                f"triggers[{trigger.index}].agent",
                f"unknown agent {trigger.agent}; agents: {', '.join(agents) or 'none'}",
            )


def resolve(tenant: TenantConfig, repo: RepoConfig | None = None) -> MergedConfig:
    """The merged configuration for one repository (``repo`` None: the tenant config alone).

    ``repo`` must have been validated against this ``tenant``; if the two do not fit together
    (the tenant changed since), :class:`ConfigError` is raised with the problems.
    """
    agents: dict[str, ResolvedAgent] = dict(tenant.agents)
    triggers: list[Trigger] = []
    if repo is not None:
        sink = ProblemSink()
        agents.update(overlay_agents(tenant, repo.agent_specs, sink))
        unknown_trigger_agents(repo.triggers, agents, sink)
        if sink.has_errors:
            raise ConfigError(sink.sorted())
        triggers.extend(repo.triggers)
    triggers.extend(tenant.triggers)
    return MergedConfig(
        agents=agents, triggers=triggers, policies=tenant.policies, deny=frozenset(tenant.deny)
    )
