"""Executing quick actions (QuickActions::InterpretService and the action definitions under
lib/gitlab/quick_actions/), for notes and for issue/MR descriptions written through the API.

Each command is checked against its definition's condition as GitLab does, with the
simulator's permission rules (store.py): a command whose condition fails is still removed from
the text but does nothing ("Could not apply <name> command."). ``/approve`` and
``/unapprove`` act while the text is interpreted; the other commands collect updates that
``apply`` makes afterwards through the simulator's own operations, so that the webhooks are
the ones a person's change would send.

Conditions (who may): ``/close``, ``/reopen``: update the issue or MR; ``/assign``,
``/unassign``, ``/label``, ``/unlabel``: administer the issuable (Reporter here);
``/approve``: eligible to approve (MergeRequest#can_be_approved_by?); ``/unapprove``: has
approved; ``/merge``: may merge into the target branch and the MR is mergeable, and it merges
only when the request names the MR's head (``merge_request_diff_head_sha``);
``/move``, ``/clone``: administer issues here, and (when applied) in the target project too.
All but ``/assign`` and ``/label`` need an existing object (not on create). ``/label`` applies
only labels the project has.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .api_approvals import add_approval, can_be_approved_by, remove_approval
from .models import Issue, MergeRequest, Project, User
from .mr_ops import merge
from .operations import add_note, snapshot, update_issuable
from .quick_actions import Command, extract

if TYPE_CHECKING:
    from .sim import GitLabSim

_LABEL_REF = re.compile(r'~"([^"]+)"|~([^\s~"]+)')
_LABEL_NAME = re.compile(r'"([^"]+)"|([^ ]+)')


@dataclass
class Interpretation:
    content: str
    commands_only: bool
    names: list[str] = field(default_factory=list)
    updates: dict = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    def changes(self) -> dict:
        """``commands_changes`` as the API shows it (JSON-able)."""
        shown = dict(self.updates)
        for key in ("move_to", "clone_to"):
            if key in shown:
                shown["target_project_id" if key == "move_to" else "clone_to_project_id"] = (
                    shown.pop(key).id
                )
        return shown

    def summary(self) -> list[str]:
        return [" ".join(self.messages)] if self.messages else []


@dataclass
class _Scope:
    sim: GitLabSim
    project: Project
    user: User
    obj: Issue | MergeRequest | None  # None while the object is being created
    is_mr: bool
    head_sha: str | None
    out: Interpretation

    @property
    def state(self):
        return self.sim.state

    def admin(self) -> bool:
        return self.state.can_admin_issuable(self.user, self.project)

    def can_update(self) -> bool:
        if self.obj is None:
            return False
        if isinstance(self.obj, MergeRequest):
            return self.state.can_update_mr(self.user, self.project, self.obj)
        return self.admin() or self.obj.author_id == self.user.id

    def assignees(self) -> list[int]:
        return list(self.updates.get("assignee_ids", self.obj.assignee_ids if self.obj else []))

    @property
    def updates(self) -> dict:
        return self.out.updates


def _users(scope: _Scope, arg: str) -> list[User] | None:
    """``@name``, ``name`` or ``me``, separated by spaces, commas or "and"; None if one is
    unknown (GitLab: "Failed to find users for ...")."""
    found = []
    for word in re.split(r"[\s,]+", arg.strip()):
        if not word or word == "and":
            continue
        user = scope.user if word == "me" else scope.state.user(word.lstrip("@"))
        if user is None:
            return None
        found.append(user)
    return found


def _labels(scope: _Scope, arg: str) -> list[str]:
    if "~" in arg:
        names = [a or b for a, b in _LABEL_REF.findall(arg)]
    else:
        names = [a or b for a, b in _LABEL_NAME.findall(arg)]
    return [n for n in dict.fromkeys(names) if n in scope.project.labels]


# -- the commands: each returns its execution message, or None when its condition fails --------
def _approve(scope: _Scope, arg: str) -> str | None:
    mr = scope.obj
    if not isinstance(mr, MergeRequest) or mr.state == "merged":
        return None
    if not can_be_approved_by(scope.sim, scope.project, mr, scope.user):
        return None
    add_approval(scope.sim, scope.project, mr, scope.user)
    return "Approved the current merge request."


def _unapprove(scope: _Scope, arg: str) -> str | None:
    mr = scope.obj
    if not isinstance(mr, MergeRequest) or mr.state == "merged":
        return None
    if not remove_approval(scope.sim, scope.project, mr, scope.user):
        return None
    return "Unapproved the current merge request."


def _merge(scope: _Scope, arg: str) -> str | None:
    mr = scope.obj
    if not isinstance(mr, MergeRequest):
        return None
    status = scope.sim.mr_status(scope.project, mr)
    allowed = scope.state.can_merge(scope.user, scope.project, mr.target_branch)
    if not allowed or status["detailed_merge_status"] != "mergeable":
        return None
    if not scope.head_sha:
        return "The `/merge` quick action requires the SHA of the head of the branch."
    if scope.head_sha != status["head_sha"]:
        return "Branch has been updated since the merge was requested."
    scope.updates["merge"] = scope.head_sha
    return "Merged this merge request."


def _assign(scope: _Scope, arg: str) -> str | None:
    if not scope.admin():
        return None
    users = _users(scope, arg)
    if not users:
        return "Failed to assign a user because no user was found."
    ids = scope.assignees()
    scope.updates["assignee_ids"] = ids + [u.id for u in users if u.id not in ids]
    return "Assigned " + ", ".join(f"@{u.username}" for u in users) + "."


def _unassign(scope: _Scope, arg: str) -> str | None:
    if scope.obj is None or not scope.obj.assignee_ids or not scope.admin():
        return None
    users = _users(scope, arg) if arg else None
    drop = {u.id for u in users} if users else set(scope.assignees())
    scope.updates["assignee_ids"] = [i for i in scope.assignees() if i not in drop]
    return "Removed assignees."


def _label(scope: _Scope, arg: str) -> str | None:
    labels = _labels(scope, arg)
    if not scope.admin() or not labels:
        return None
    added = scope.updates.setdefault("add_labels", [])
    added += [name for name in labels if name not in added]
    return "Added " + " ".join(f"~{name}" for name in labels) + " label(s)."


def _unlabel(scope: _Scope, arg: str) -> str | None:
    if scope.obj is None or not scope.obj.labels or not scope.admin():
        return None
    if not arg:
        scope.updates["labels"] = []
        return "Removed all labels."
    removed = scope.updates.setdefault("remove_labels", [])
    removed += [name for name in _labels(scope, arg) if name not in removed]
    return "Removed " + " ".join(f"~{name}" for name in removed) + " label(s)."


def _state(wanted: str, event: str) -> Callable[[_Scope, str], str | None]:
    def command(scope: _Scope, arg: str) -> str | None:
        if scope.obj is None or scope.obj.state != wanted or not scope.can_update():
            return None
        scope.updates["state_event"] = event
        noun = "merge request" if scope.is_mr else "issue"
        return f"{'Closed' if event == 'close' else 'Reopened'} this {noun}."

    return command


def _relocate(key: str, verb: str) -> Callable[[_Scope, str], str | None]:
    def command(scope: _Scope, arg: str) -> str | None:
        if not isinstance(scope.obj, Issue) or not scope.admin():
            return None
        target = scope.state.project(arg.split(" ")[0]) if arg else None
        if target is None:
            return f"Failed to {verb} this issue because target project doesn't exist."
        scope.updates[key] = target
        return f"{verb.capitalize()}d this issue to {target.path_with_namespace}."

    return command


COMMANDS: dict[str, Callable[[_Scope, str], str | None]] = {
    "approve": _approve,
    "unapprove": _unapprove,
    "merge": _merge,
    "assign": _assign,
    "unassign": _unassign,
    "label": _label,
    "unlabel": _unlabel,
    "close": _state("opened", "close"),
    "reopen": _state("closed", "reopen"),
    "move": _relocate("move_to", "move"),
    "clone": _relocate("clone_to", "clone"),
}


def interpret(
    sim: GitLabSim,
    project: Project,
    user: User,
    obj: Issue | MergeRequest | None,
    text: str,
    *,
    is_mr: bool,
    head_sha: str | None = None,
) -> Interpretation:
    """Extract the commands of ``text`` and run their conditions (approvals act now)."""
    extracted = extract(text)
    out = Interpretation(extracted.content, extracted.commands_only)
    scope = _Scope(sim, project, user, obj, is_mr, head_sha, out)
    for command in extracted.commands:
        out.names.append(command.name)
        out.messages.append(_run(scope, command))
    return out


def _run(scope: _Scope, command: Command) -> str:
    message = COMMANDS[command.name](scope, command.arg)
    return f"Could not apply {command.name} command." if message is None else message


def apply(
    sim: GitLabSim, project: Project, user: User, obj: Issue | MergeRequest, done: Interpretation
) -> None:
    """Make the collected updates on an existing object, with their webhooks."""
    updates = done.updates
    changes = {
        key: updates[key]
        for key in ("assignee_ids", "add_labels", "remove_labels", "labels", "state_event")
        if key in updates
    }
    if changes:
        before, action = update_issuable(sim, project, obj, user, **changes)
        if action:
            sim.dispatch_async(sim.issuable_event(project, obj, user, action, before))
    if isinstance(obj, Issue):
        for key in ("clone_to", "move_to"):
            if key in updates:
                relocate(sim, project, user, obj, updates[key], move=key == "move_to")
    if isinstance(obj, MergeRequest) and "merge" in updates:
        before = snapshot(obj)
        merge(sim, project, obj, user, sha=updates["merge"])
        sim.dispatch_async(sim.issuable_event(project, obj, user, "merge", before))


def relocate(
    sim: GitLabSim, project: Project, user: User, issue: Issue, target: Project, *, move: bool
) -> Issue | None:
    """Issues::MoveService / CloneService: a copy in ``target``; a move closes the original.
    Refused (None) unless the user administers issues in the target project too."""
    state = sim.state
    if target.id == project.id or not state.can_admin_issuable(user, target):
        return None
    labels = [name for name in issue.labels if name in target.labels]
    copy = sim.add_issue(
        target,
        issue.title,
        issue.description,
        issue.author_id,
        issue.assignee_ids,
        labels,
        issue.confidential,
    )
    verb = "moved" if move else "cloned"
    add_note(
        sim, target, copy, user, f"{verb} from {project.path_with_namespace}#{issue.iid}", True
    )
    add_note(sim, project, issue, user, f"{verb} to {target.path_with_namespace}#{copy.iid}", True)
    sim.dispatch_async(sim.issuable_event(target, copy, user, "open", None))
    if move:
        before, action = update_issuable(sim, project, issue, user, state_event="close")
        if action:
            sim.dispatch_async(sim.issuable_event(project, issue, user, action, before))
    return copy
