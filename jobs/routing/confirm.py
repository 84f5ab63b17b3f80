"""Confirm an event with GitLab (SPEC §5.3 step 3a, THREATS T43): pure, no I/O.

A delivery proves only that its sender knew the tenant's webhook secret. Before a job exists,
routing re-reads what the job would act on (``needs`` says what, ``jobs.routing.consider`` reads
it with the acting bot's token) and ``reconcile`` compares GitLab's answer with the event:

* where they disagree (no such issue, MR, note or pipeline; the bot is not assigned; the label
  is not on the object; the note does not mention the bot or was written by someone else; the
  pipeline did not fail; the MR's branches or projects are not the ones the event was routed
  by), the event is refused with ``the delivery does not match GitLab (...)``;
* otherwise the event is rebuilt from GitLab's answer: assignees and author by username,
  labels, draft flag, title, URL, the note's body, and the actor where GitLab tells who it
  was (the note's author, the MR's author for ``mr_opened``, the pipeline's user). Only an
  assignment's or label's actor stays the payload's ``user``: GitLab's issue and MR answers do
  not say who assigned or labelled (the actor's access is still checked, step 4a).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from jobs.events import Event
from jobs.events.mentions import mentioned_usernames

MISMATCH = "the delivery does not match GitLab ({})"
_MR_REFS = ("source_branch", "target_branch", "source_project_id", "target_project_id")


@dataclass(frozen=True)
class Needs:
    """What GitLab must be asked about one event: the issue or MR (``kind``, ``iid``), the
    note (``note_id``) and the pipeline (``pipeline_id``); None where not needed."""

    kind: str | None = None
    iid: int | None = None
    note_id: int | None = None
    pipeline_id: int | None = None


@dataclass(frozen=True)
class Answer:
    """GitLab's REST answers for ``Needs`` (None: GitLab has no such thing for the bot)."""

    obj: dict | None = None
    note: dict | None = None
    pipeline: dict | None = None


def needs(event: Event) -> Needs:
    """The reads that confirm ``event``. A pipeline's MR is read when the payload names one."""
    if event.event == "pipeline_failed":
        kind = "merge_request" if event.object_iid is not None else None
        return Needs(kind, event.object_iid, pipeline_id=event.pipeline_id)
    note_id = event.note_id if event.event == "comment_mention" else None
    return Needs(event.object_kind, event.object_iid, note_id=note_id)


def object_name(kind: str, iid: int | None) -> str:
    return f"{kind.replace('_', ' ')} {iid}"


def reconcile(
    event: Event, answer: Answer, bot_ids: Mapping[str, int], default_bot: str | None
) -> Event | str:
    """The event rebuilt from GitLab's answer, or the mismatch (the whole refusal reason).

    ``bot_ids`` maps each registered bot's username to its GitLab user id; ``default_bot`` is
    the tenant's default bot (the acting bot of an ``mr_opened`` no bot is assigned to).
    """
    if event.event == "pipeline_failed":
        found = _pipeline(event, answer)
    else:
        found = _issuable(event, answer, bot_ids, default_bot)
    return MISMATCH.format(found) if isinstance(found, str) else found


def username(user: object) -> str | None:
    name = user.get("username") if isinstance(user, dict) else None
    return name if isinstance(name, str) and name else None


def user_id(user: object) -> int | None:
    uid = user.get("id") if isinstance(user, dict) else None
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


def _people(items: object) -> list[tuple[int, str]]:
    found = [(user_id(u), username(u)) for u in items] if isinstance(items, list) else []
    return [(uid, name) for uid, name in found if uid is not None and name is not None]


def _object_facts(event: Event, obj: dict) -> dict | str:
    """The issue's/MR's facts as GitLab tells them, or what differs from the event's MR refs."""
    name = object_name(event.object_kind, event.object_iid)
    people = _people(obj.get("assignees"))
    labels = obj.get("labels") if isinstance(obj.get("labels"), list) else []
    facts = {
        "assignees": tuple(n for _, n in people),
        "assignee_ids": tuple(i for i, _ in people),
        "labels": tuple(label for label in labels if isinstance(label, str)),
        "author": username(obj.get("author")),
        "title": obj.get("title") if isinstance(obj.get("title"), str) else event.title,
        "url": obj.get("web_url") if isinstance(obj.get("web_url"), str) else event.url,
    }
    if event.object_kind != "merge_request":
        return facts
    differs = _mr_refs_differ(event, obj, name)
    if differs:
        return differs
    draft = obj.get("draft")
    facts["draft"] = draft if isinstance(draft, bool) else event.draft
    return facts


def _mr_refs_differ(event: Event, mr: dict, name: str) -> str | None:
    """Which of the MR's branches or projects GitLab names differently from the event (the
    config ref was chosen by them), or None."""
    for key in _MR_REFS:
        ours, theirs = getattr(event, key), mr.get(key)
        if ours is not None and theirs != ours:
            return f"{name}'s {key.replace('_', ' ')} is {theirs}, not {ours}"
    return None


def _issuable(
    event: Event, answer: Answer, bot_ids: Mapping[str, int], default_bot: str | None
) -> Event | str:
    name = object_name(event.object_kind, event.object_iid)
    if answer.obj is None:
        return f"{name} does not exist"
    facts = _object_facts(event, answer.obj)
    if isinstance(facts, str):
        return facts
    assigned = bot_ids.get(event.bot) in facts["assignee_ids"]
    kind = event.event
    if kind in ("issue_assigned", "mr_assigned", "label_applied") and not assigned:
        return f"@{event.bot} is not assigned to {name}"
    if kind == "mr_opened" and not assigned and event.bot != default_bot:
        return f"@{event.bot} is not assigned to {name}"
    if kind == "label_applied" and event.new_label not in facts["labels"]:
        return f"label {event.new_label} is not on {name}"
    if kind == "mr_opened":
        state = answer.obj.get("state")
        if state != "opened":
            return f"{name} is {state}, not open"
        facts["actor_id"] = user_id(answer.obj.get("author"))
        facts["actor"] = facts["author"]
    if kind == "comment_mention":
        note = _note(event, answer.note)
        if isinstance(note, str):
            return note
        facts.update(note)
    return replace(event, **facts)


def _note(event: Event, note: dict | None) -> dict | str:
    """The comment's facts from GitLab's note (read through the event's issue or MR)."""
    if event.note_id is None:
        return "the delivery names no note id"
    what = f"note {event.note_id}"
    if note is None:
        return f"{what} does not exist"
    if note.get("system") is True:
        return f"{what} is a system note"
    author, author_id = username(note.get("author")), user_id(note.get("author"))
    if event.actor_id is not None and author_id != event.actor_id:
        return f"{what} was written by @{author}, not @{event.actor}"
    body = note.get("body") if isinstance(note.get("body"), str) else ""
    if event.bot not in mentioned_usernames(body, [event.bot]):
        return f"{what} does not mention @{event.bot}"
    return {"note_body": body, "author": author, "actor": author, "actor_id": author_id}


def _pipeline(event: Event, answer: Answer) -> Event | str:
    what = f"pipeline {event.pipeline_id}"
    pipeline = answer.pipeline
    if pipeline is None:
        return f"{what} does not exist"
    status = pipeline.get("status")
    if status != "failed":
        return f"{what} did not fail; GitLab shows it {status}"
    facts: dict = {
        "actor": username(pipeline.get("user")),
        "actor_id": user_id(pipeline.get("user")),
    }
    ref = pipeline.get("ref")
    if event.object_iid is None:
        if event.ref is not None and ref != event.ref:
            return f"{what} ran on {ref}, not {event.ref}"
        return replace(event, **facts)
    name = object_name("merge_request", event.object_iid)
    if answer.obj is None:
        return f"{name} does not exist"
    mr_ref = f"refs/merge-requests/{event.object_iid}/"
    # A merge request pipeline's API ref is refs/merge-requests/<iid>/head (or /merge, /train);
    # the hook shows its source ref, the MR's source branch.
    if not (ref == event.ref or (isinstance(ref, str) and ref.startswith(mr_ref))):
        return f"{what} ran on {ref}, not {event.ref}"
    return _mr_refs_differ(event, answer.obj, name) or replace(event, **facts)
