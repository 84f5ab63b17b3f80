"""State changes shared by the REST handlers and the test helpers (they trigger webhooks)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import errors
from .models import Issue, MergeRequest, Note, Project, User

if TYPE_CHECKING:
    from .sim import GitLabSim

STATE_IDS = {"opened": 1, "closed": 2, "merged": 3, "locked": 4}


@dataclass
class Snapshot:
    title: str
    description: str
    assignee_ids: list[int]
    labels: list[str]
    state: str
    draft: bool
    updated_at: object
    updated_by_id: int | None


def snapshot(obj: Issue | MergeRequest) -> Snapshot:
    return Snapshot(
        obj.title,
        obj.description,
        list(obj.assignee_ids),
        list(obj.labels),
        obj.state,
        getattr(obj, "draft", False),
        obj.updated_at,
        obj.updated_by_id,
    )


def noteable_type(obj: Issue | MergeRequest) -> str:
    return "Issue" if isinstance(obj, Issue) else "MergeRequest"


def add_note(
    sim: GitLabSim,
    project: Project,
    obj: Issue | MergeRequest,
    author: User,
    body: str,
    system: bool = False,
    internal: bool = False,
) -> Note:
    state = sim.state
    now = state.now()
    note = Note(
        id=state.next_id("note"),
        body=body,
        author_id=author.id,
        system=system,
        noteable_type=noteable_type(obj),
        noteable_id=obj.id,
        noteable_iid=obj.iid,
        project_id=project.id,
        created_at=now,
        updated_at=now,
        internal=internal,
    )
    obj.notes.append(note)
    if not system:
        obj.updated_at = now
    return note


def _mentions(state, ids: list[int]) -> str:
    return ", ".join(f"@{state.users[i].username}" for i in ids)


def update_issuable(
    sim: GitLabSim,
    project: Project,
    obj: Issue | MergeRequest,
    by: User,
    *,
    title: str | None = None,
    description: str | None = None,
    assignee_ids: list[int] | None = None,
    reviewer_ids: list[int] | None = None,
    labels: list[str] | None = None,
    add_labels: list[str] | None = None,
    remove_labels: list[str] | None = None,
    state_event: str | None = None,
    target_branch: str | None = None,
) -> tuple[Snapshot, str | None]:
    """Apply changes; returns (snapshot before, webhook action or None when nothing changed)."""
    state = sim.state
    before = snapshot(obj)
    now = state.now()
    changed = False
    if title is not None and title != obj.title:
        obj.title, changed = title, True
    if description is not None and description != obj.description:
        obj.description, changed = description, True
    if (
        target_branch is not None
        and isinstance(obj, MergeRequest)
        and target_branch != obj.target_branch
    ):
        obj.target_branch, changed = target_branch, True
    if assignee_ids is not None and assignee_ids != obj.assignee_ids:
        added = [i for i in assignee_ids if i not in obj.assignee_ids]
        removed = [i for i in obj.assignee_ids if i not in assignee_ids]
        obj.assignee_ids, changed = list(dict.fromkeys(assignee_ids)), True
        parts = []
        if added:
            parts.append(f"assigned to {_mentions(state, added)}")
        if removed:
            parts.append(f"unassigned {_mentions(state, removed)}")
        add_note(sim, project, obj, by, " and ".join(parts), system=True)
    if (
        reviewer_ids is not None
        and isinstance(obj, MergeRequest)
        and reviewer_ids != obj.reviewer_ids
    ):
        obj.reviewer_ids, changed = list(dict.fromkeys(reviewer_ids)), True
    new_labels = list(obj.labels) if labels is None else list(dict.fromkeys(labels))
    for label in add_labels or []:
        if label not in new_labels:
            new_labels.append(label)
    new_labels = [label for label in new_labels if label not in (remove_labels or [])]
    if new_labels != obj.labels:
        for label in new_labels:
            state.ensure_label(project, label)
        added = [label for label in new_labels if label not in obj.labels]
        removed = [label for label in obj.labels if label not in new_labels]
        obj.labels, changed = new_labels, True
        parts = []
        if added:
            parts.append("added " + " ".join(f"~{label}" for label in added))
        if removed:
            parts.append("removed " + " ".join(f"~{label}" for label in removed))
        suffix = " label" if len(added) + len(removed) == 1 else " labels"
        add_note(sim, project, obj, by, " and ".join(parts) + suffix, system=True)
    action = "update" if changed else None
    if state_event == "close" and obj.state == "opened":
        obj.state, obj.closed_at, obj.closed_by_id = "closed", now, by.id
        add_note(sim, project, obj, by, "closed", system=True)
        action = "close"
    elif state_event == "reopen" and obj.state == "closed":
        obj.state, obj.closed_at, obj.closed_by_id = "opened", None, None
        add_note(sim, project, obj, by, "reopened", system=True)
        action = "reopen"
    elif state_event not in (None, "", "close", "reopen"):
        raise errors.invalid("state_event")
    if action:
        obj.updated_at = now
        obj.updated_by_id = by.id
    return before, action
