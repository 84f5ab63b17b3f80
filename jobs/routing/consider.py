"""What the configuration says about each event of one delivery, and the GitLab reads it takes
(SPEC §5.2 last paragraph, §5.3 steps 1-3). Live routing and Explain both run this code, so
they reach the same decision within the same bounds:

* at most ``MATE_MAX_EVENTS_PER_DELIVERY`` events of a delivery are considered (``capped``);
* an event that no trigger of the tenant config could match by its ``on`` and event fields
  (``mention``, ``label``) is ``no_trigger`` before GitLab is asked anything;
* ``DeliveryReads`` asks GitLab each question once per delivery: a project's visibility to a
  bot, a file at a ref. Answers and errors are both kept, so a failing GitLab is asked once too.

A delivery therefore costs GitLab a bounded number of requests, whatever its size (THREATS T44).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings

import configschema
from jobs.events import Event
from jobs.models import Delivery, Resolution
from jobs.routing.decide import Decision, decide, facts_of
from jobs.routing.gitlab_reads import BotReader, GitLabReadError, RepoFile
from jobs.routing.storable import unstorable
from tenants.models import Bot, Tenant

T = TypeVar("T")


def capped(events: list[Event]) -> tuple[list[Event], int]:
    """The events routing considers (the first ``MATE_MAX_EVENTS_PER_DELIVERY``, in SPEC §5.2
    order) and how many are left out."""
    cap = max(0, settings.MATE_MAX_EVENTS_PER_DELIVERY)
    return events[:cap], max(0, len(events) - cap)


def over_cap_reason(left_out: int) -> str:
    cap = settings.MATE_MAX_EVENTS_PER_DELIVERY
    return (
        f"{left_out} more event(s) of this delivery not routed: at most {cap} per delivery "
        "(MATE_MAX_EVENTS_PER_DELIVERY)"
    )


class DeliveryReads:
    """The GitLab reads of one delivery, each made at most once (per bot, as bots see
    differently). Make one per delivery and pass it to every ``consider`` of that delivery."""

    def __init__(self, tenant: Tenant) -> None:
        self._tenant = tenant
        self._readers: dict[int, BotReader] = {}
        self._answers: dict[tuple, tuple[object, GitLabReadError | None]] = {}

    def _reader(self, bot: Bot) -> BotReader:
        if bot.pk not in self._readers:
            self._readers[bot.pk] = BotReader(self._tenant, bot)
        return self._readers[bot.pk]

    def _once(self, key: tuple, ask: Callable[[], T]) -> T:
        if key not in self._answers:
            try:
                self._answers[key] = (ask(), None)
            except GitLabReadError as exc:
                self._answers[key] = (None, exc)
        value, error = self._answers[key]
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def project_visible(self, bot: Bot, project_id: int) -> bool:
        return self._once(
            ("visible", bot.pk, project_id),
            lambda: self._reader(bot).project_visible(project_id),
        )

    def repo_file(self, bot: Bot, project_id: int, path: str, ref: str) -> RepoFile:
        return self._once(
            ("file", bot.pk, project_id, path, ref),
            lambda: self._reader(bot).repo_file(project_id, path, ref),
        )


@dataclass
class Considered:
    """The configuration's answer for one event. ``decision`` is set once the configs were
    merged and matched; before that, ``resolution`` and ``reason`` say why routing stopped."""

    resolution: str
    reason: str = ""
    decision: Decision | None = None
    problems: list[dict] = field(default_factory=list)
    repo_file: RepoFile | None = None
    config_file: str = "not read"  # "found", "missing" (tenant config alone) or "not read"


def foreign_instance(tenant: Tenant, delivery: Delivery) -> str | None:
    """Why the delivery's project is not on the tenant's GitLab (T3), or None."""
    project = delivery.body.get("project") if isinstance(delivery.body, dict) else None
    web_url = project.get("web_url") if isinstance(project, dict) else None
    if not isinstance(web_url, str):
        return None
    theirs, ours = urlsplit(web_url), urlsplit(tenant.gitlab_url)
    if (theirs.hostname, theirs.port) != (ours.hostname, ours.port):
        return f"project is on {theirs.hostname}, not on this tenant's GitLab ({ours.hostname})"
    return None


def no_tenant_trigger(event: Event, config: configschema.TenantConfig) -> str | None:
    """Why no trigger of the tenant config could match ``event`` by ``on``, ``mention`` and
    ``label`` (repo triggers only narrow what the tenant allows), or None when one could."""
    facts = facts_of(event)
    if any(configschema.event_fields_match(t, facts) for t in config.triggers):
        return None
    what = event.event
    if event.new_label is not None:
        what += f" (label {event.new_label})"
    elif event.mentioned is not None:
        what += f" (mention of @{event.mentioned})"
    return f"no trigger matches {what}; GitLab was not asked"


def consider(
    tenant: Tenant,
    delivery: Delivery,
    event: Event,
    bots: list[Bot],
    tenant_result: configschema.Result | None,
    reads: DeliveryReads,
) -> Considered:
    """SPEC §5.3 steps 1-3 for one event: checks that need no GitLab first, then the reads
    (through ``reads``), then the merge and the trigger walk. Never raises for GitLab trouble."""
    early = _before_gitlab(tenant, delivery, event, tenant_result)
    if early is not None:
        return early
    bot = next(b for b in bots if b.username == event.bot)
    try:
        if not reads.project_visible(bot, event.project_id):
            reason = f"project {event.project_id} is not visible to @{bot.username}"
            return Considered(Resolution.IGNORED, reason)
        repo_file = (
            reads.repo_file(bot, event.project_id, tenant.mate_filename, event.config_ref)
            if event.config_ref
            else None
        )
    except GitLabReadError as exc:
        return Considered(Resolution.REFUSED, f"could not read {tenant.mate_filename}: {exc}")
    text = repo_file.text if repo_file else None
    decision = decide(
        event,
        tenant_result.config,
        text,
        repo_file=tenant.mate_filename,
        onprem=settings.MATE_DEPLOYMENT == "onprem",
    )
    return Considered(
        decision.resolution,
        decision.reason,
        decision,
        decision.problems,
        repo_file,
        "found" if text is not None else "missing",
    )


def _before_gitlab(
    tenant: Tenant, delivery: Delivery, event: Event, tenant_result: configschema.Result | None
) -> Considered | None:
    reason = unstorable(event) or foreign_instance(tenant, delivery)
    if reason:
        return Considered(Resolution.IGNORED, reason)
    if tenant_result is None:
        return Considered(Resolution.NO_TRIGGER, "the tenant has no configuration yet")
    if not tenant_result.ok:
        problems = [p.to_dict() for p in tenant_result.problems if p.severity == "error"]
        return Considered(
            Resolution.CONFIG_INVALID, "the tenant config has errors", problems=problems
        )
    unmatched = no_tenant_trigger(event, tenant_result.config)
    if unmatched:
        return Considered(Resolution.NO_TRIGGER, unmatched)
    return None
