"""Explain one recorded delivery (SPEC §4.11, §5.4): re-run the routing decision per event.

The same code as live routing: ``jobs.events.derive_events`` with the tenant's bots today, the
tenant's current configuration, ``.mate.yml`` fetched fresh through ``BotReader`` with the acting
bot's token, ``jobs.routing.decide.decide``, then the refusals that depend only on the tenant
(model catalogue, suspension). The gates that depend on the moment (loop breaker, cooldown,
queue) are not re-run; what they said at the time is in the recorded outcome shown alongside.
Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from jobs.credentials import minted_users_in
from jobs.events import BotRef, Event, derive_events
from jobs.models import Delivery, DeliveryEvent
from jobs.routing.catalogue import model_refusal
from jobs.routing.decide import decide
from jobs.routing.gitlab_reads import BotReader, GitLabReadError
from jobs.routing.storable import unstorable
from jobs.services.routing import _foreign_instance
from tenants.models import Bot, Tenant
from tenants.services.configs import validated as validated_config


@dataclass
class ExplainedEvent:
    """The decision for one derived event, as the console shows it."""

    event: str
    bot: str
    config_ref: str | None
    config_ref_reason: str
    config_commit: str | None = None
    config_file: str = "missing"  # "found", "missing" (tenant config alone) or "not read"
    trigger: dict | None = None
    agent: str | None = None
    authorities: list[str] = field(default_factory=list)
    resolution: str = "matched"  # matched or the resolution routing would record
    refusal: str = ""
    problems: list[dict] = field(default_factory=list)
    recorded: DeliveryEvent | None = None


@dataclass
class Explanation:
    events: list[ExplainedEvent]
    ignored: str | None
    config_version: int | None
    recorded: list[DeliveryEvent]


def _refuse(row: ExplainedEvent, resolution: str, reason: str) -> ExplainedEvent:
    row.resolution, row.refusal = resolution, reason
    return row


def _explain_event(tenant: Tenant, delivery: Delivery, event: Event, bots: list[Bot], result):
    row = ExplainedEvent(event.event, event.bot, event.config_ref, event.config_ref_reason)
    too_big = unstorable(event)  # the same first check as live routing
    if too_big:
        return _refuse(row, "ignored", too_big)
    foreign = _foreign_instance(tenant, delivery)
    if foreign:
        return _refuse(row, "ignored", foreign)
    if result is None:
        return _refuse(row, "no_trigger", "the tenant has no configuration yet")
    if not result.ok:
        row.problems = [p.to_dict() for p in result.problems if p.severity == "error"]
        return _refuse(row, "config_invalid", "the tenant config has errors")
    bot = next(b for b in bots if b.username == event.bot)
    try:
        reader = BotReader(tenant, bot)
        if not reader.project_visible(event.project_id):
            reason = f"project {event.project_id} is not visible to @{bot.username}"
            return _refuse(row, "ignored", reason)
        repo_file = (
            reader.repo_file(event.project_id, tenant.mate_filename, event.config_ref)
            if event.config_ref
            else None
        )
    except GitLabReadError as exc:
        row.config_file = "not read"
        return _refuse(row, "refused", f"could not read {tenant.mate_filename}: {exc}")
    text = repo_file.text if repo_file else None
    row.config_commit = repo_file.commit if repo_file else None
    row.config_file = "found" if text is not None else "missing"
    decision = decide(
        event,
        result.config,
        text,
        repo_file=tenant.mate_filename,
        onprem=settings.MATE_DEPLOYMENT == "onprem",
    )
    row.trigger = decision.trigger
    row.agent = decision.match.agent.name if decision.match else None
    row.authorities = decision.authorities
    row.problems = decision.problems
    if decision.resolution != "matched":
        return _refuse(row, decision.resolution, decision.reason)
    refusal = model_refusal(tenant.llm_provider, decision.match.agent.model)
    if refusal is None and tenant.suspended:
        refusal = "the tenant is suspended"
    return _refuse(row, "refused", refusal) if refusal else row


def explain_delivery(delivery: Delivery) -> Explanation:
    """The routing decision for each event the delivery yields today (may ask GitLab)."""
    tenant = delivery.tenant
    bots = list(Bot.objects.for_tenant(tenant))
    refs = [BotRef(b.gitlab_user_id, b.username) for b in bots]
    default = next((b.username for b in bots if b.pk == tenant.default_bot_id), None)
    mine = minted_users_in(tenant, delivery.body)
    derivation = derive_events(delivery.hook, delivery.body, refs, default, mine)
    recorded = list(
        DeliveryEvent.objects.for_tenant(tenant).filter(delivery=delivery).select_related("job")
    )
    config = tenant.current_config()
    result = validated_config(config) if config is not None else None
    rows = []
    for event in derivation.events:
        row = _explain_event(tenant, delivery, event, bots, result)
        row.recorded = next(
            (r for r in recorded if r.event == event.event and r.bot == event.bot), None
        )
        rows.append(row)
    return Explanation(
        events=rows,
        ignored=derivation.ignored,
        config_version=config.version if config else None,
        recorded=recorded,
    )
