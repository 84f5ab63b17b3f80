"""Processing one stored delivery: events → routing → jobs, with one logged outcome per event.

Idempotent: a processed delivery is skipped; everything for one delivery is written in one
transaction, so a crash midway leaves it ``accepted`` for the sweeper, and jobs are unique per
(tenant, delivery event), so a second run can never create a second job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jobs import timeline
from jobs.credentials import minted_users_in
from jobs.events import BotRef, Event, derive_events
from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus, Resolution
from jobs.routing import gates
from jobs.routing.catalogue import model_refusal
from jobs.routing.decide import Decision, agent_snapshot, decide
from jobs.routing.gitlab_reads import BotReader, GitLabReadError
from jobs.routing.storable import unstorable
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


def process_delivery(delivery_id: int) -> None:
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
        bots = list(Bot.objects.for_tenant(tenant))
        refs = [BotRef(b.gitlab_user_id, b.username) for b in bots]
        default = tenant.default_bot.username if tenant.default_bot else None
        mine = minted_users_in(tenant, delivery.body)
        derivation = derive_events(delivery.hook, delivery.body, refs, default, mine)
        if not derivation.events:
            outcomes = [(None, Outcome(Resolution.IGNORED, derivation.ignored or "no event"))]
        else:
            outcomes = [(ev, _route_safely(tenant, delivery, ev, bots)) for ev in derivation.events]
        _record(delivery, outcomes)


def _route_safely(tenant: Tenant, delivery: Delivery, event: Event, bots: list[Bot]) -> Outcome:
    """Route one event in its own savepoint. A failure nobody foresaw (a value the database
    cannot hold, a bug) becomes this event's logged outcome: raising would leave the delivery
    accepted and the sweeper would retry it forever."""
    try:
        with transaction.atomic():
            return route_event(tenant, delivery, event, bots)
    except Exception as exc:
        log.exception("routing %s of delivery %s failed", event.event, delivery.uid)
        return Outcome(
            Resolution.REFUSED,
            f"could not route this event ({type(exc).__name__}); see Mate's logs",
        )


def _record(delivery: Delivery, outcomes: list[tuple[Event | None, Outcome]]) -> None:
    for position, (event, outcome) in enumerate(outcomes):
        DeliveryEvent.objects.create(
            delivery=delivery,
            tenant=delivery.tenant,
            position=position,
            event=event.event if event else "",
            bot=event.bot if event else "",
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


def _foreign_instance(tenant: Tenant, delivery: Delivery) -> str | None:
    project = delivery.body.get("project") if isinstance(delivery.body, dict) else None
    web_url = project.get("web_url") if isinstance(project, dict) else None
    if not isinstance(web_url, str):
        return None
    theirs, ours = urlsplit(web_url), urlsplit(tenant.gitlab_url)
    if (theirs.hostname, theirs.port) != (ours.hostname, ours.port):
        return f"project is on {theirs.hostname}, not on this tenant's GitLab ({ours.hostname})"
    return None


def route_event(tenant: Tenant, delivery: Delivery, event: Event, bots: list[Bot]) -> Outcome:
    """SPEC §5.3 for one event; never raises for GitLab trouble (it becomes the outcome)."""
    too_big = unstorable(event)
    if too_big:
        return Outcome(Resolution.IGNORED, too_big)
    foreign = _foreign_instance(tenant, delivery)
    if foreign:
        return Outcome(Resolution.IGNORED, foreign)
    config = tenant.current_config()
    if config is None:
        return Outcome(Resolution.NO_TRIGGER, "the tenant has no configuration yet")
    tenant_result = validated_config(config)
    if not tenant_result.ok:
        problems = [p.to_dict() for p in tenant_result.problems if p.severity == "error"]
        return Outcome(
            Resolution.CONFIG_INVALID, "the tenant config has errors", {"problems": problems}
        )
    bot = next(b for b in bots if b.username == event.bot)
    try:
        reader = BotReader(tenant, bot)
        if not reader.project_visible(event.project_id):
            return Outcome(
                Resolution.IGNORED, f"project {event.project_id} is not visible to @{bot.username}"
            )
        repo_file = (
            reader.repo_file(event.project_id, tenant.mate_filename, event.config_ref)
            if event.config_ref
            else None
        )
    except GitLabReadError as exc:
        return Outcome(Resolution.REFUSED, f"could not read {tenant.mate_filename}: {exc}")
    decision = decide(
        event,
        tenant_result.config,
        repo_file.text if repo_file else None,
        repo_file=tenant.mate_filename,
        onprem=_onprem(),
    )
    commit = repo_file.commit if repo_file else None
    return _apply_gates(tenant, delivery, event, decision, commit, tenant_result.config)


def _onprem() -> bool:
    return settings.MATE_DEPLOYMENT == "onprem"


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
