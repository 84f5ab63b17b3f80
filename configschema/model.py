"""The validated configuration as plain, immutable values.

``*Spec`` classes hold what one document says (None = not set); ``Resolved*`` and
:class:`MergedConfig` hold what applies after inheritance and the ``.mate.yml`` overlay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from configschema.authorities import ordered
from configschema.durations import format_duration
from configschema.problems import DOCUMENT_START, Pos

Origin = Literal["tenant", "repo"]
Announce = Literal["none", "reaction", "summary"]
Layer = Literal["tenant", "repo"]

# Agent fields that inheritance copies from the base when the child leaves them unset.
INHERITED_FIELDS = (
    "backend",
    "model",
    "system_prompt",
    "permissions",
    "description",
    "image",
    "timeout",
    "env",
    "keep_container",
)
REQUIRED_FIELDS = ("backend", "model", "system_prompt", "permissions")


@dataclass(frozen=True)
class AgentSpec:
    """One entry of ``agents:`` as written; ``positions`` maps a field to where its value is."""

    name: str
    at: Pos = DOCUMENT_START
    backend: str | None = None
    model: str | None = None
    system_prompt: str | None = None
    system_prompt_append: str | None = None
    permissions: tuple[str, ...] | None = None
    description: str | None = None
    image: str | None = None
    timeout: timedelta | None = None
    extends: str | None = None
    env: Mapping[str, str] | None = None
    keep_container: bool | None = None
    positions: Mapping[str, Pos] = field(default_factory=dict)

    def pos(self, name: str) -> Pos:
        """Where field ``name`` is written, else where the agent entry is."""
        return self.positions.get(name, self.at)


@dataclass(frozen=True)
class ResolvedAgent:
    """An agent with inheritance applied. ``base`` is the agent it was built on, if any.

    ``keep_container`` is the configured value; the job runner honours it only on-prem.
    """

    name: str
    backend: str
    model: str
    system_prompt: str
    permissions: tuple[str, ...]
    description: str | None = None
    image: str | None = None
    timeout: timedelta = timedelta(hours=1)
    env: Mapping[str, str] = field(default_factory=dict)
    keep_container: bool = False
    origin: Origin = "tenant"
    base: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (the job keeps one)."""
        return {
            "name": self.name,
            "backend": self.backend,
            "model": self.model,
            "system_prompt": self.system_prompt,
            "permissions": list(self.permissions),
            "description": self.description,
            "image": self.image,
            "timeout": format_duration(self.timeout),
            "env": dict(self.env),
            "keep_container": self.keep_container,
            "origin": self.origin,
            "base": self.base,
        }


@dataclass(frozen=True)
class Policies:
    """Tenant policies (SPEC §4.9) with their defaults.

    Money is in US dollars. ``daily_budget`` None means no daily cap. ``egress`` holds
    normalised host patterns (:mod:`configschema.hostpatterns`); empty means no egress.
    """

    cooldown: timedelta = timedelta(0)
    concurrency: int = 2
    default_timeout: timedelta = timedelta(hours=1)
    min_actor_role: str = "developer"  # one of configschema.policies.ACTOR_ROLES
    max_cost_per_job: Decimal = Decimal(5)
    daily_budget: Decimal | None = None
    egress: tuple[str, ...] = ()
    announce: Announce = "summary"


@dataclass(frozen=True)
class Conditions:
    """A trigger's ``if:``; None means the condition is absent. Globs are shell-style."""

    assignee: tuple[str, ...] | None = None
    author: tuple[str, ...] | None = None
    target_branch: tuple[str, ...] | None = None
    source_branch: tuple[str, ...] | None = None
    mr_draft: bool | None = None
    labels: tuple[str, ...] | None = None
    target: str | None = None
    ref: tuple[str, ...] | None = None
    project: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Trigger:
    """One trigger; ``origin`` and ``index`` say which document and which list entry."""

    on: str
    agent: str
    deny: tuple[str, ...] = ()
    conditions: Conditions = field(default_factory=Conditions)
    mention: str | None = None
    label: tuple[str, ...] | None = None
    when_assignee_in: tuple[str, ...] | None = None
    origin: Origin = "tenant"
    index: int = 0
    at: Pos = DOCUMENT_START

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "index": self.index, "on": self.on, "agent": self.agent}


@dataclass(frozen=True)
class TenantConfig:
    """A valid tenant config; ``agents`` are resolved, ``agent_specs`` as written."""

    agents: Mapping[str, ResolvedAgent]
    agent_specs: Mapping[str, AgentSpec]
    triggers: tuple[Trigger, ...] = ()
    policies: Policies = field(default_factory=Policies)
    deny: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepoConfig:
    """A valid ``.mate.yml`` (valid against the tenant config it was checked with)."""

    agent_specs: Mapping[str, AgentSpec]
    triggers: tuple[Trigger, ...] = ()
    policies: Policies | None = None  # validated, then ignored (SPEC §4.2)


@dataclass(frozen=True)
class MergedConfig:
    """What one repository's events see: tenant agents overlaid by repo agents, repo triggers
    before tenant triggers, the tenant's policies and tenant-wide deny."""

    agents: Mapping[str, ResolvedAgent]
    triggers: list[Trigger]
    policies: Policies
    deny: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Match:
    """The trigger that fired. ``authorities`` is the effective set; empty means refuse."""

    trigger: Trigger
    agent: ResolvedAgent
    authorities: frozenset[str]
    timeout: timedelta

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.to_dict(),
            "agent": self.agent.name,
            "authorities": list(ordered(self.authorities)),
            "timeout": format_duration(self.timeout),
        }
