"""Processing one stored delivery: events → routing → jobs, with one logged outcome per event.

Idempotent: a processed delivery is skipped; everything for one delivery is written in one
transaction, so a crash midway leaves it ``accepted`` for the sweeper, and jobs are unique per
(tenant, delivery event), so a second run can never create a second job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from jobs import timeline
from jobs.credentials import minted_users_in
from jobs.events import BotRef, Derivation, Event, derive_events
from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus, Resolution
from jobs.routing import gates, identity
from jobs.routing.catalogue import model_refusal
from jobs.routing.consider import DeliveryReads, capped, consider, over_cap_reason
from jobs.routing.decide import Decision, agent_snapshot
from jobs.services import lifecycle
from tenants.models import Bot, Tenant
from tenants.services.configs import validated as validated_config

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    resolution: str
    reason: str = ""
    detail: dict = field(default_factory=dict)
    job: Job | None = None
    bot: str = ""  # the acting bot when routing resolved another than the derived event's
    disagrees: bool = False  # GitLab contradicted the delivery (its claim is given back)


def process_delivery(delivery_id: int) -> None:
    reads = _read_ahead(delivery_id)
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("tenant")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.state == Delivery.State.PROCESSED:
            return
        tenant = delivery.tenant
        bots, derivation = _derived(delivery)
        if not derivation.events:
            outcomes = [(None, Outcome(Resolution.IGNORED, derivation.ignored or "no event"))]
        else:
            outcomes = _route_all(tenant, delivery, derivation.events, bots, reads)
        record(delivery, outcomes)


def _read_ahead(delivery_id: int) -> DeliveryReads | None:
    """Ask GitLab what routing will ask, before the write transaction: routing then finds every
    answer in the delivery's read cache and holds the database's write lock (all of SQLite's,
    on the embedded database) for no network round trip. The same questions, each once."""
    delivery = Delivery.objects.select_related("tenant").filter(pk=delivery_id).first()
    if delivery is None or delivery.state == Delivery.State.PROCESSED:
        return None
    tenant = delivery.tenant
    reads = DeliveryReads(tenant)
    try:
        bots, derivation = _derived(delivery)
        config = tenant.current_config()
        result = validated_config(config) if config is not None else None
        for event in capped(derivation.events)[0]:
            if identity.duplicate_of(tenant, delivery, event) is None:
                consider(tenant, delivery, event, bots, result, reads)
    except Exception:  # routing proper runs again below and records what went wrong
        log.exception("reading ahead for delivery %s failed", delivery.uid)
    return reads


def _derived(delivery: Delivery) -> tuple[list[Bot], Derivation]:
    """The tenant's bots today and the delivery's events (SPEC §5.2)."""
    tenant = delivery.tenant
    bots = list(Bot.objects.for_tenant(tenant))
    refs = [BotRef(b.gitlab_user_id, b.username) for b in bots]
    default = tenant.default_bot.username if tenant.default_bot else None
    mine = minted_users_in(tenant, delivery.body)
    return bots, derive_events(delivery.hook, delivery.body, refs, default, mine)


def _route_all(
    tenant: Tenant,
    delivery: Delivery,
    events: list[Event],
    bots: list[Bot],
    reads: DeliveryReads | None = None,
) -> list[tuple[Event | None, Outcome]]:
    """The first MATE_MAX_EVENTS_PER_DELIVERY events routed with one read cache; the rest as
    one ``ignored`` outcome saying how many were left out (SPEC §5.2)."""
    routed, left_out = capped(events)
    reads = reads or DeliveryReads(tenant)
    outcomes: list[tuple[Event | None, Outcome]] = [
        (ev, _duplicate(tenant, delivery, ev) or _route_claimed(tenant, delivery, ev, bots, reads))
        for ev in routed
    ]
    if left_out:
        outcomes.append(
            (None, Outcome(Resolution.IGNORED, over_cap_reason(left_out), {"left_out": left_out}))
        )
    return outcomes


def _route_claimed(
    tenant: Tenant, delivery: Delivery, event: Event, bots: list[Bot], reads: DeliveryReads
) -> Outcome:
    """Route an event this delivery claimed. A delivery GitLab contradicts gives its claim
    back: a forged copy of an event (T43) must not make the real one a "duplicate"."""
    outcome = _route_safely(tenant, delivery, event, bots, reads)
    if outcome.disagrees:
        identity.release(tenant, delivery, event)
    return outcome


def _duplicate(tenant: Tenant, delivery: Delivery, event: Event) -> Outcome | None:
    """``ignored`` when another delivery already routed this event (SPEC §5.1, identity)."""
    reason = identity.claim(tenant, delivery, event)
    return Outcome(Resolution.IGNORED, reason) if reason else None


def _route_safely(
    tenant: Tenant, delivery: Delivery, event: Event, bots: list[Bot], reads: DeliveryReads
) -> Outcome:
    """Route one event in its own savepoint. A failure nobody foresaw (a value the database
    cannot hold, a bug) becomes this event's logged outcome: raising would leave the delivery
    accepted and the sweeper would retry it forever."""
    try:
        with transaction.atomic():
            return route_event(tenant, delivery, event, bots, reads)
    except Exception as exc:
        log.exception("routing %s of delivery %s failed", event.event, delivery.uid)
        return Outcome(
            Resolution.REFUSED,
            f"could not route this event ({type(exc).__name__}); see Mate's logs",
        )


def record(delivery: Delivery, outcomes: list[tuple[Event | None, Outcome]]) -> None:
    """Write one outcome row per event (or for the delivery) and mark it processed."""
    for position, (event, outcome) in enumerate(outcomes):
        DeliveryEvent.objects.create(
            delivery=delivery,
            tenant=delivery.tenant,
            position=position,
            event=event.event if event else "",
            bot=(outcome.bot or event.bot) if event else "",
            resolution=outcome.resolution,
            reason=outcome.reason,
            detail=outcome.detail,
            job=outcome.job,
        )
    delivery.state = Delivery.State.PROCESSED
    delivery.processed_at = timezone.now()
    delivery.attempts += 1
    delivery.summary = "; ".join(o.resolution for _, o in outcomes)[:300]
    delivery.save(update_fields=["state", "processed_at", "attempts", "summary"])


def route_event(
    tenant: Tenant,
    delivery: Delivery,
    event: Event,
    bots: list[Bot],
    reads: DeliveryReads | None = None,
) -> Outcome:
    """SPEC §5.3 for one event; never raises for GitLab trouble (it becomes the outcome).
    ``reads`` is the delivery's read cache: pass the same one for every event of a delivery."""
    config = tenant.current_config()
    result = validated_config(config) if config is not None else None
    considered = consider(tenant, delivery, event, bots, result, reads or DeliveryReads(tenant))
    # From here on the event is GitLab's (SPEC §5.3 step 3a): the job's snapshot, its task text
    # and its actor come from GitLab's answer, never from the payload's copy.
    confirmed = considered.event or event
    decision = considered.decision
    if decision is None:
        detail = {"problems": considered.problems} if considered.problems else {}
        outcome = Outcome(considered.resolution, considered.reason, detail)
    else:
        commit = considered.repo_file.commit if considered.repo_file else None
        outcome = _apply_gates(tenant, delivery, confirmed, decision, commit, result.config)
    outcome.bot = confirmed.bot
    outcome.disagrees = considered.disagrees
    return outcome


def _decision_detail(event: Event, decision: Decision) -> dict:
    return {
        "config_ref": event.config_ref,
        "config_ref_reason": event.config_ref_reason,
        "trigger": decision.trigger,
        "agent": decision.match.agent.name if decision.match else None,
        "authorities": decision.authorities,
        "problems": decision.problems,
    }


def _apply_gates(tenant, delivery, event, decision, commit, tenant_config) -> Outcome:
    detail = _decision_detail(event, decision)
    if decision.resolution != "matched":
        return Outcome(decision.resolution, decision.reason, detail)
    match = decision.match
    refusal = model_refusal(tenant.llm_provider, match.agent.model)
    if refusal is None and tenant.suspended:
        refusal = "the tenant is suspended"
    if refusal is None:
        refusal = gates.loop_refusal(tenant, event)
    if refusal:
        return Outcome(Resolution.REFUSED, refusal, detail)
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)  # serialize slot counting
    policies = tenant_config.policies
    until = gates.cooldown_until(locked, event.project_id, policies.cooldown)
    if until is not None:
        detail["next_allowed_at"] = until.isoformat()
        return Outcome(
            Resolution.SKIPPED_COOLDOWN, f"cooldown until {until:%Y-%m-%d %H:%M:%S}Z", detail
        )
    status = gates.slot_status(locked, policies.concurrency)
    if status is None:
        return Outcome(
            Resolution.REJECTED_QUEUE_FULL,
            "too many pending jobs (MATE_MAX_PENDING_PER_TENANT)",
            detail,
        )
    job = _create_job(locked, delivery, event, decision, commit, status)
    return Outcome(Resolution.DISPATCHED, f"job {job.uid} ({status})", detail, job)


def _create_job(tenant, delivery, event, decision, commit, status) -> Job:
    match = decision.match
    snapshot = {
        "event": event.to_dict(),
        "bot": event.bot,
        "project": {"id": event.project_id, "path": event.project_path},
        "object": {
            "kind": event.object_kind,
            "iid": event.object_iid,
            "pipeline_id": event.pipeline_id,
        },
        "config": {"ref": event.config_ref, "commit": commit, "file": tenant.mate_filename},
        "trigger": {**decision.trigger, "on": match.trigger.on},
        "agent": agent_snapshot(match.agent),
        "authorities": decision.authorities,
        "timeout_seconds": int(match.timeout.total_seconds()),
    }
    job, created = Job.objects.get_or_create(
        tenant=tenant,
        event_key=f"{delivery.uid}:{event.dedupe_key()}"[:500],
        defaults={
            "delivery": delivery,
            "event": event.event,
            "bot_username": event.bot,
            "agent": match.agent.name,
            "trigger": f"{match.trigger.origin}[{match.trigger.index}]",
            "project_id": event.project_id,
            "project_path": event.project_path or "",
            "object_kind": event.object_kind,
            "object_iid": event.object_iid,
            "loop_key": gates.loop_key(event),
            "snapshot": snapshot,
            "status": status,
        },
    )
    if created:
        timeline.append(
            job, JobEvent.Kind.STATUS, {"from": None, "to": status, "reason": "dispatched"}
        )
        if status == JobStatus.STARTING:
            transaction.on_commit(lambda: lifecycle.enqueue_run(job.pk))
    return job
