"""What ``mate route`` cannot decide without GitLab (SPEC §4.11, §5.2): it says so instead of
guessing. Pure, no I/O.

Live routing asks GitLab for these (``jobs.routing.consider``): the acting bot of an MR's
pipeline (a Pipeline Hook names no assignees), the usernames behind ``author_id`` and
``assignee_ids`` where a trigger's ``if:`` needs them, the confirmation of what the delivery
claims (step 3a) and the actor's role (step 4a).
"""

from __future__ import annotations

import configschema
from jobs.events import Event
from jobs.routing import confirm
from jobs.routing.decide import Decision, facts_of

IDS_ONLY = "the payload has ids only"


def needs_gitlab(event: Event, decision: Decision, min_role: str) -> list[str]:
    """What the offline answer for ``event`` leaves to GitLab, in the order routing asks."""
    found: list[str] = []
    if event.event == "pipeline_failed" and event.object_iid is not None:
        found.append(
            f"acting bot: the assignees of merge request {event.object_iid} "
            "(a Pipeline Hook names none)"
        )
    found += _conditions(event, decision)
    if decision.resolution != "config_invalid":
        found.append(f"confirmation of {_confirmed_things(event)} (SPEC 5.3 step 3a)")
    if decision.resolution == "matched":
        found.append(f"actor role: {_actor(event)} needs {min_role} (policies.min_actor_role)")
    return found


def _walk(decision: Decision) -> list[configschema.Trigger]:
    """The triggers routing looks at: all, or up to the one that matched."""
    if decision.match is None:
        return list(decision.triggers)
    walked = []
    for trigger in decision.triggers:
        walked.append(trigger)
        if trigger is decision.match.trigger:
            break
    return walked


def _conditions(event: Event, decision: Decision) -> list[str]:
    facts = facts_of(event)
    unnamed = len(event.assignees) < len(event.assignee_ids)
    found = []
    for trigger in _walk(decision):
        if not configschema.event_fields_match(trigger, facts):
            continue
        where = f"{trigger.origin} trigger #{trigger.index}"
        if trigger.conditions.author is not None and event.author is None:
            found.append(f"if.author of {where}: the author's username ({IDS_ONLY})")
        if trigger.conditions.assignee is not None and unnamed:
            found.append(f"if.assignee of {where}: the assignees' usernames ({IDS_ONLY})")
    return found


def _confirmed_things(event: Event) -> str:
    need = confirm.needs(event)
    things = []
    if need.pipeline_id is not None:
        things.append(f"pipeline {need.pipeline_id}")
    if need.kind is not None:
        things.append(confirm.object_name(need.kind, need.iid))
    if need.note_id is not None:
        things.append(f"note {need.note_id}")
    return ", ".join(things)


def _actor(event: Event) -> str:
    return f"@{event.actor}" if event.actor else "the actor"
