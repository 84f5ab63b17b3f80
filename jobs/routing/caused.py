""" "Events Mate caused", checked again on GitLab's answer (SPEC §5.2, §5.3 steps 1 and 3a).

Detection applies the rule to the payload's users. A delivery built by someone who knows the
webhook secret (T43) can name a person where GitLab shows a bot, a project access-token user or
the user of a key Mate minted: as the actor (a job started by Mate's own note, MR or push), or as
the author of an MR a job opened (its source branch, written by an agent, would then supply
``.mate.yml``). Confirmation gives the users GitLab shows; this module applies the same rule
(``jobs.events.Roster.caused_by``) to them: a hidden Mate actor refuses the event, a Mate-written
source branch is replaced by the default branch as the config ref.
"""

from __future__ import annotations

from dataclasses import replace

from jobs.credentials import minted_among
from jobs.events import BotRef, Event
from jobs.events.actors import MATE_MR_REASON
from jobs.events.payload import Person
from jobs.events.roster import Roster
from jobs.routing import confirm
from tenants.models import Bot, Tenant


def _person(user_id: int | None, username: str | None) -> Person | None:
    return None if user_id is None and username is None else Person(user_id, username)


def _reads_source_branch(event: Event) -> bool:
    """Whether the event's ``.mate.yml`` comes from the MR's source branch (not the default)."""
    return (
        event.source_branch is not None
        and event.config_ref == event.source_branch
        and event.config_ref != event.project_default_branch
    )


def _roster(tenant: Tenant, bots: list[Bot], people: list[Person | None]) -> Roster:
    ids = [p.user_id for p in people if p is not None and p.user_id is not None]
    refs = [BotRef(b.gitlab_user_id, b.username) for b in bots]
    default = next((b.username for b in bots if b.pk == tenant.default_bot_id), None)
    return Roster.of(refs, default, minted_among(tenant, ids))


def hidden_actor(tenant: Tenant, bots: list[Bot], event: Event) -> str | None:
    """Why the confirmed event is Mate's own doing although the delivery named a person as its
    actor, or None. ``pipeline_failed`` is exempt (SPEC §5.2)."""
    actor = _person(event.actor_id, event.actor)
    if event.event == "pipeline_failed" or actor is None:
        return None
    caused = _roster(tenant, bots, [actor]).caused_by(actor)
    if caused is None:
        return None
    return f"GitLab shows @{actor.username or actor.user_id} as the actor: {caused}"


def config_ref_checked(tenant: Tenant, bots: list[Bot], event: Event, mr: dict | None) -> Event:
    """The confirmed event, reading ``.mate.yml`` from the default branch when it would read an
    MR's source branch written by Mate: GitLab shows the MR's author (for a pipeline, its user)
    as one of the users of Mate's own events (SPEC §5.3 step 1). Payloads carry only the
    author's id, so detection alone cannot see a GitLab bot user there. ``mr`` is GitLab's
    answer for the event's MR (None when it has none)."""
    if not _reads_source_branch(event):
        return event
    if event.event == "pipeline_failed":
        writer = _person(event.actor_id, event.actor)
    elif mr is not None:
        writer = _person(confirm.user_id(mr.get("author")), confirm.username(mr.get("author")))
    else:
        writer = None
    if writer is None or _roster(tenant, bots, [writer]).caused_by(writer) is None:
        return event
    return replace(event, config_ref=event.project_default_branch, config_ref_reason=MATE_MR_REASON)
