"""Explain one recorded delivery (SPEC §4.11, §5.4): re-run the routing decision per event.

The same code as live routing: ``jobs.events.derive_events`` with the tenant's bots today, the
tenant's current configuration, ``jobs.routing.consider`` (the event cap, no GitLab read for an
event no tenant trigger could match, the acting bot of an MR's pipeline, the confirmation with
GitLab, ``.mate.yml`` fetched fresh once per ref with the acting bot's token, ``decide`` on
GitLab's answer, the actor's role), then the refusals that depend only on the tenant
(model catalogue, suspension), and the event-identity check, read-only: an event another
delivery routed within the window shows as its duplicate. The gates that depend on the moment
(loop breaker, cooldown, queue) are not re-run; what they said at the time is in the recorded
outcome shown alongside. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.credentials import minted_users_in
from jobs.events import SUPPORTED_HOOKS, BotRef, Event, derive_events
from jobs.models import Delivery, DeliveryEvent
from jobs.routing import identity
from jobs.routing.catalogue import model_refusal
from jobs.routing.consider import DeliveryReads, capped, consider, over_cap_reason
from tenants.models import Bot, Tenant
from tenants.services.configs import validated as validated_config

CUT_REASON = "only the first 64 KiB of this delivery were kept, so it yields no event"


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
    confirmation: str = ""  # step 3a: "confirmed with GitLab" or the mismatch; "" not reached
    actor_trust: str = ""  # step 4a: the actor's access, or why it is not enough


@dataclass
class Explanation:
    events: list[ExplainedEvent]
    ignored: str | None
    config_version: int | None
    recorded: list[DeliveryEvent]
    left_out: str = ""  # why events past MATE_MAX_EVENTS_PER_DELIVERY were not explained


def _refuse(row: ExplainedEvent, resolution: str, reason: str) -> ExplainedEvent:
    row.resolution, row.refusal = resolution, reason
    return row


def _explain_event(tenant: Tenant, delivery: Delivery, event: Event, bots, result, reads):
    row = ExplainedEvent(event.event, event.bot, event.config_ref, event.config_ref_reason)
    considered = consider(tenant, delivery, event, bots, result, reads)
    if considered.event is not None:
        row.bot = considered.event.bot
    row.confirmation, row.actor_trust = considered.confirmation, considered.actor_trust
    row.config_file = considered.config_file
    row.config_commit = considered.repo_file.commit if considered.repo_file else None
    row.problems = considered.problems
    decision = considered.decision
    if decision is None:
        return _refuse(row, considered.resolution, considered.reason)
    row.trigger = decision.trigger
    row.agent = decision.match.agent.name if decision.match else None
    row.authorities = decision.authorities
    if decision.resolution != "matched":
        return _refuse(row, decision.resolution, decision.reason)
    refusal = model_refusal(tenant.llm_provider, decision.match.agent.model)
    if refusal is None and tenant.suspended:
        refusal = "the tenant is suspended"
    return _refuse(row, "refused", refusal) if refusal else row


def explain_delivery(delivery: Delivery) -> Explanation:
    """The routing decision for each event the delivery yields today (may ask GitLab, within
    routing's bounds: the same event cap and one read per question)."""
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
    events, left_out = capped(derivation.events)
    reads = DeliveryReads(tenant)
    rows = []
    for event in events:
        duplicate = identity.duplicate_of(tenant, delivery, event)
        if duplicate:  # another delivery holds this event's claim (never this one)
            row = ExplainedEvent(event.event, event.bot, event.config_ref, event.config_ref_reason)
            row = _refuse(row, "ignored", duplicate)
        else:
            row = _explain_event(tenant, delivery, event, bots, result, reads)
        row.recorded = next(
            (r for r in recorded if r.event == row.event and r.bot == row.bot), None
        )
        rows.append(row)
    return Explanation(
        events=rows,
        # A kept head is no payload: say so rather than "malformed" (unsupported types say so).
        ignored=CUT_REASON
        if delivery.body_cut and delivery.hook in SUPPORTED_HOOKS
        else derivation.ignored,
        config_version=config.version if config else None,
        recorded=recorded,
        left_out=over_cap_reason(left_out) if left_out else "",
    )
