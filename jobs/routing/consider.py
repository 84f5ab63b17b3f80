"""What the configuration and GitLab say about each event of one delivery (SPEC §5.2 last
paragraph, §5.3 steps 1-4a). Live routing and Explain both run this code, so they reach the
same decision within the same bounds:

* at most ``MATE_MAX_EVENTS_PER_DELIVERY`` events of a delivery are considered (``capped``);
* an event that no trigger of the tenant config could match by its ``on`` and event fields
  (``mention``, ``label``) is ``no_trigger`` before GitLab is asked anything;
* a pipeline of an MR is handed to the first registered bot among the MR's assignees, read
  through the API (a Pipeline Hook names none);
* the event is confirmed with GitLab (step 3a, ``jobs.routing.confirm``) and the triggers are
  matched on GitLab's answer, never on the payload's copy;
* a matched event's actor must have ``policies.min_actor_role`` on the project (step 4a,
  ``jobs.routing.trust``);
* ``DeliveryReads`` asks GitLab each question once per delivery (the project, a file at a ref,
  the issue/MR, the note, the pipeline, a membership): a few requests per event that could
  match a trigger, none for the others (THREATS T44).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from django.conf import settings

import configschema
from jobs.events import Event
from jobs.models import Delivery, Resolution
from jobs.routing import caused, confirm, trust
from jobs.routing.decide import Decision, decide, facts_of
from jobs.routing.gitlab_reads import GitLabReadError, RepoFile
from jobs.routing.reads import DeliveryReads
from jobs.routing.storable import unstorable
from tenants.models import Bot, Tenant

__all__ = ["Considered", "DeliveryReads", "capped", "consider", "over_cap_reason"]
CONFIRMED = "confirmed with GitLab"


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


@dataclass
class Considered:
    """The answer for one event. ``decision`` is set once the configs were merged and matched
    on GitLab's answer; before that, ``resolution`` and ``reason`` say why routing stopped.
    ``event`` is the event as routing goes on with it: the acting bot resolved and, once
    confirmed, GitLab's facts in place of the payload's. ``confirmation`` and ``actor_trust``
    say how steps 3a and 4a went ("" while not reached)."""

    resolution: str
    reason: str = ""
    decision: Decision | None = None
    problems: list[dict] = field(default_factory=list)
    repo_file: RepoFile | None = None
    config_file: str = "not read"  # "found", "missing" (tenant config alone) or "not read"
    event: Event | None = None
    confirmation: str = ""
    actor_trust: str = ""

    @property
    def disagrees(self) -> bool:
        """Whether GitLab contradicted the delivery (step 3a refused it)."""
        return self.confirmation not in ("", CONFIRMED)


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
    """SPEC §5.3 steps 1-4a for one event: checks that need no GitLab first, then the acting
    bot, the project, the confirmation and ``.mate.yml`` (through ``reads``), the merge and the
    trigger walk on GitLab's answer, and the actor's role. Never raises for GitLab trouble."""
    early = _before_gitlab(tenant, delivery, event, tenant_result)
    if early is not None:
        return early
    try:
        acting = _acting_bot(tenant, event, bots, reads)
        if isinstance(acting, Considered):
            return acting
        bot, event = acting
        if not reads.project_visible(bot, event.project_id):
            reason = f"project {event.project_id} is not visible to @{bot.username}"
            return Considered(Resolution.IGNORED, reason, event=event)
    except GitLabReadError as exc:
        reason = f"could not read {tenant.mate_filename}: {exc}"
        return Considered(Resolution.REFUSED, reason, event=event)
    try:
        confirmed = _confirm(tenant, event, bot, bots, reads)
    except GitLabReadError as exc:
        reason = f"could not confirm the delivery with GitLab: {exc}"
        return Considered(Resolution.REFUSED, reason, event=event)
    if isinstance(confirmed, str):
        return Considered(Resolution.REFUSED, confirmed, event=event, confirmation=confirmed)
    hid = caused.hidden_actor(tenant, bots, confirmed)
    if hid:
        reason = confirm.MISMATCH.format(hid)
        return Considered(Resolution.REFUSED, reason, event=event, confirmation=reason)
    confirmed = caused.config_ref_checked(tenant, bots, confirmed, _mr_of(confirmed, bot, reads))
    try:
        repo_file = (
            reads.repo_file(bot, event.project_id, tenant.mate_filename, confirmed.config_ref)
            if confirmed.config_ref
            else None
        )
    except GitLabReadError as exc:
        reason = f"could not read {tenant.mate_filename}: {exc}"
        return Considered(Resolution.REFUSED, reason, event=confirmed, confirmation=CONFIRMED)
    text = repo_file.text if repo_file else None
    decision = _decide(tenant, event, confirmed, tenant_result.config, text)
    considered = Considered(
        decision.resolution,
        decision.reason,
        decision,
        decision.problems,
        repo_file,
        "found" if text is not None else "missing",
        event=confirmed,
        confirmation=CONFIRMED,
    )
    if decision.resolution == "matched":
        return _trusted(considered, bot, tenant_result.config.policies.min_actor_role, reads)
    return considered


def _acting_bot(
    tenant: Tenant, event: Event, bots: list[Bot], reads: DeliveryReads
) -> tuple[Bot, Event] | Considered:
    """The acting bot and the event it acts on. A pipeline of an MR goes to the first
    registered bot among the MR's assignees as GitLab shows them, else the default bot."""
    bot = next(b for b in bots if b.username == event.bot)
    if event.event != "pipeline_failed" or event.object_iid is None:
        return bot, event
    mr = reads.issuable(bot, event.project_id, "merge_request", event.object_iid)
    assigned = {uid for uid in map(confirm.user_id, (mr or {}).get("assignees") or [])}
    chosen = next((b for b in bots if b.gitlab_user_id in assigned), None)
    if chosen is None:
        chosen = next((b for b in bots if b.pk == tenant.default_bot_id), None)
    if chosen is None:
        return Considered(Resolution.IGNORED, "no registered bot involved", event=event)
    return chosen, replace(event, bot=chosen.username)


def _confirm(
    tenant: Tenant, event: Event, bot: Bot, bots: list[Bot], reads: DeliveryReads
) -> Event | str:
    """Step 3a: the event rebuilt from GitLab's answer, or the mismatch (``confirm``)."""
    need = confirm.needs(event)
    project = event.project_id
    obj = note = pipeline = None
    if need.kind is not None and need.iid is not None:
        obj = reads.issuable(bot, project, need.kind, need.iid)
    if need.note_id is not None and obj is not None:
        note = reads.note(bot, project, need.kind, need.iid, need.note_id)
    if need.pipeline_id is not None:
        pipeline = reads.pipeline(bot, project, need.pipeline_id)
    default = next((b.username for b in bots if b.pk == tenant.default_bot_id), None)
    bot_ids = {b.username: b.gitlab_user_id for b in bots}
    return confirm.reconcile(event, confirm.Answer(obj, note, pipeline), bot_ids, default)


def _mr_of(event: Event, bot: Bot, reads: DeliveryReads) -> dict | None:
    """GitLab's answer for the event's MR (read once per delivery: confirmation asked it)."""
    if event.object_iid is None or event.object_kind not in ("merge_request", "pipeline"):
        return None
    return reads.issuable(bot, event.project_id, "merge_request", event.object_iid)


def _decide(
    tenant: Tenant,
    payload_event: Event,
    confirmed: Event,
    config: configschema.TenantConfig,
    text: str | None,
) -> Decision:
    """Merge and match on GitLab's answer. A trigger that matched the payload but matches
    GitLab's answer no longer is a mismatch (refused), not a quiet ``no_trigger``."""
    options = {"repo_file": tenant.mate_filename, "onprem": settings.MATE_DEPLOYMENT == "onprem"}
    decision = decide(confirmed, config, text, **options)
    if decision.resolution != "no_trigger":
        return decision
    if decide(payload_event, config, text, **options).resolution != "matched":
        return decision
    reason = confirm.MISMATCH.format("no trigger matches what GitLab shows")
    return replace(decision, resolution=Resolution.REFUSED, reason=reason)


def _trusted(considered: Considered, bot: Bot, min_role: str, reads: DeliveryReads) -> Considered:
    """Step 4a on a matched event: the actor's access on the project, inherited included."""
    event = considered.event
    member = None
    if event.actor_id is not None:
        try:
            member = reads.member(bot, event.project_id, event.actor_id)
        except GitLabReadError as exc:
            return _refused(considered, f"could not read the actor's access on GitLab: {exc}")
    refusal = trust.refusal(event.actor, event.actor_id, member, min_role)
    if refusal:
        return _refused(considered, refusal)
    level = trust.level_name(member["access_level"])
    considered.actor_trust = f"actor {trust.who(event.actor, event.actor_id)} has {level} access"
    return considered


def _refused(considered: Considered, reason: str) -> Considered:
    decision = replace(considered.decision, resolution=Resolution.REFUSED, reason=reason)
    considered.resolution, considered.reason, considered.decision = (
        Resolution.REFUSED,
        reason,
        decision,
    )
    considered.actor_trust = reason
    return considered


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
