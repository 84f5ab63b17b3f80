"""The pure part of routing: configs + event → trigger, agent, authorities or a reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import configschema
from jobs.events import Event


@dataclass(frozen=True)
class Decision:
    """What the configuration says about one event.

    ``resolution`` is ``matched`` (a job may be created, subject to the gates), ``no_trigger``,
    ``config_invalid`` (``problems`` lists them) or ``refused`` (``reason``).
    """

    resolution: str
    reason: str = ""
    match: configschema.Match | None = None
    problems: list[dict] = field(default_factory=list)
    triggers: tuple[configschema.Trigger, ...] = ()  # the merged walk, when the configs merged

    @property
    def trigger(self) -> dict | None:
        if self.match is None:
            return None
        return {"origin": self.match.trigger.origin, "index": self.match.trigger.index}

    @property
    def authorities(self) -> list[str]:
        if self.match is None:
            return []
        return [a for a in configschema.AUTHORITIES if a in self.match.authorities]


def facts_of(event: Event) -> configschema.EventFacts:
    return configschema.EventFacts(
        event=event.event,
        bot=event.bot,
        object_kind=event.object_kind,
        assignees=tuple(event.assignees),
        author=event.author,
        labels=tuple(event.labels),
        target_branch=event.target_branch,
        source_branch=event.source_branch,
        draft=event.draft,
        ref=event.ref,
        project=event.project_path,
        mentioned=event.mentioned,
        new_label=event.new_label,
    )


def decide(
    event: Event,
    tenant: configschema.TenantConfig,
    repo_text: str | None,
    *,
    repo_file: str = ".mate.yml",
    onprem: bool = False,
) -> Decision:
    """Validate the repo file (if any) against the tenant config, merge, and match the event."""
    repo = None
    if repo_text is not None:
        result = configschema.validate_repo(repo_text, tenant, onprem=onprem)
        if not result.ok:
            problems = [p.to_dict() for p in result.problems if p.severity == "error"]
            return Decision(
                "config_invalid",
                reason=f"{repo_file} at {event.config_ref} has {len(problems)} error(s)",
                problems=problems,
            )
        repo = result.config
    try:
        merged = configschema.resolve(tenant, repo)
    except configschema.ConfigError as exc:
        problems = [p.to_dict() for p in getattr(exc, "problems", [])]
        return Decision("config_invalid", reason=str(exc), problems=problems)
    found = configschema.match(merged, facts_of(event))
    walked = tuple(merged.triggers)
    if found is None:
        return Decision("no_trigger", reason=f"no trigger matches {event.event}", triggers=walked)
    if not found.authorities:
        return Decision(
            "refused",
            reason=f"agent {found.agent.name} has no authority left after deny rules",
            match=found,
            triggers=walked,
        )
    return Decision("matched", match=found, triggers=walked)


def agent_snapshot(agent: configschema.ResolvedAgent) -> dict:
    """The merged agent frozen into a job (JSON-safe; env values are the config's own)."""
    return {
        "name": agent.name,
        "backend": agent.backend,
        "model": agent.model,
        "system_prompt": agent.system_prompt,
        "permissions": list(agent.permissions),
        "description": agent.description,
        "image": agent.image,
        "timeout_seconds": int(agent.timeout / timedelta(seconds=1)),
        "env": dict(agent.env),
        "keep_container": agent.keep_container,
        "origin": agent.origin,
        "base": agent.base,
    }
