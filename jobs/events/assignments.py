"""Merge Request Hook and Issue Hook: the assignment and label rules (SPEC §5.2)."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Derivation, Event, EventName
from .outcome import NO_ATTRIBUTES, NO_BOT, NO_PROJECT, ignored, malformed, printable, result
from .payload import (
    JsonObject,
    Person,
    current_assignees,
    int_at,
    label_titles,
    list_at,
    obj_at,
    people,
    person,
    str_at,
    username_index,
)
from .roster import Roster
from .subject import Project, Subject, object_subject, read_project


@dataclass(frozen=True)
class _Changes:
    """The `changes` of an issue/MR delivery that matter: assignees and labels."""

    previous_assignees: tuple[Person, ...] | None
    current_assignees: tuple[Person, ...] | None
    previous_labels: tuple[str, ...] | None
    current_labels: tuple[str, ...] | None

    @classmethod
    def read(cls, root: JsonObject) -> _Changes:
        """Read `changes.assignees` and `changes.labels`; a half-given pair reads as absent."""
        changes = obj_at(root, "changes")
        assignees, labels = obj_at(changes, "assignees"), obj_at(changes, "labels")
        before, after = list_at(assignees, "previous"), list_at(assignees, "current")
        if before is None or after is None:
            before = after = None
        old, new = (
            label_titles(list_at(labels, "previous")),
            label_titles(list_at(labels, "current")),
        )
        if old is None or new is None:
            old = new = None
        return cls(
            None if before is None else people(before),
            None if after is None else people(after),
            old,
            new,
        )

    def new_labels(self) -> list[str]:
        """Labels in `current` but not in `previous`, in their order."""
        if self.previous_labels is None or self.current_labels is None:
            return []
        return [title for title in self.current_labels if title not in self.previous_labels]


def merge_request_hook(root: JsonObject, roster: Roster) -> Derivation:
    """mr_opened, mr_assigned and label_applied from a Merge Request Hook."""
    return _assignment_hook(root, roster, "merge_request")


def issue_hook(root: JsonObject, roster: Roster) -> Derivation:
    """issue_assigned and label_applied from an Issue Hook (also confidential, work items)."""
    if str_at(root, "object_kind") == "work_item":
        kind = str_at(obj_at(root, "object_attributes"), "type")
        if kind != "Issue":
            return ignored(f"work item of type {printable(kind)} is not an issue")
    return _assignment_hook(root, roster, "issue")


def _assignment_hook(root: JsonObject, roster: Roster, kind: str) -> Derivation:
    """The assignment and label rules shared by MR and issue deliveries (SPEC §5.2)."""
    attrs = obj_at(root, "object_attributes")
    if attrs is None:
        return malformed(NO_ATTRIBUTES)
    project = read_project(root)
    if project is None:
        return malformed(NO_PROJECT)
    changes = _Changes.read(root)
    subject = _changed_subject(root, attrs, project, changes, roster, kind)
    if isinstance(subject, str):
        return malformed(subject)
    action = str_at(attrs, "action")
    assigned = roster.among(subject.assignees)
    events: list[Event] = []
    if kind == "merge_request" and action == "open":
        opener = assigned[0] if assigned else roster.default
        if opener is not None:
            events.append(subject.event("mr_opened", opener))
    newly = list(assigned) if action == "open" else []
    newly += roster.newly_among(changes.previous_assignees or (), changes.current_assignees or ())
    name: EventName = "mr_assigned" if kind == "merge_request" else "issue_assigned"
    events += [subject.event(name, bot) for bot in newly]
    if assigned:
        acting = assigned[0]
        events += [
            subject.event("label_applied", acting, new_label=t) for t in changes.new_labels()
        ]
    quiet = (
        NO_BOT if not assigned else f"no new bot assignment or label (action {printable(action)})"
    )
    return result(events, quiet)


def _changed_subject(
    root: JsonObject,
    attrs: JsonObject,
    project: Project,
    changes: _Changes,
    roster: Roster,
    kind: str,
) -> Subject | str:
    """The issue/MR of an Issue/MR Hook after the change, or what is malformed about it."""
    listed = people(list_at(root, "assignees"))
    groups = [listed, changes.current_assignees or (), changes.previous_assignees or ()]
    actor = person(obj_at(root, "user") or {})
    index = username_index([*groups, (actor,) if actor else (), roster.people()])
    assignees = current_assignees(attrs, [listed, changes.current_assignees or ()], index)
    labels = _first_known(
        changes.current_labels,
        label_titles(list_at(root, "labels")),
        label_titles(list_at(attrs, "labels")),
    )
    author_id = int_at(attrs, "author_id")
    author = index.get(author_id) if author_id is not None else None
    url = str_at(attrs, "url")
    untrusted = kind == "merge_request" and roster.authored_by_mate(author_id, index)
    return object_subject(kind, attrs, project, assignees, labels, author, url, untrusted)


def _first_known(*candidates: tuple[str, ...] | None) -> tuple[str, ...]:
    """The first candidate that is known (not None), else ()."""
    return next((c for c in candidates if c is not None), ())
