"""Merge request approvals (lib/api/merge_request_approvals.rb, with Premium's approval state):
read the approval state, approve, unapprove.

GitLab's rules, as the simulator keeps them: reading needs read access to the MR (else 404);
approving and unapproving need ``approve_merge_request``, which is ``update_merge_request``
(Developer, or the MR's author or an assignee who can read it), else 403; an approval GitLab's
ApprovalService refuses (already approved by that user, or the author when "Prevent approval by
author" is set) is a 401; unapproving without an approval is a 404; a ``sha`` that is not
the source branch's HEAD is a 409. Both writes answer 201 with the approval state and leave a
system note. A project's ``approvals_before_merge`` (or an MR's ``approvals_required``) makes
the MR ``not_approved`` until enough users approved, and merging it a 405 (sim.mr_status).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors
from .entities import ts, user_basic
from .models import Approval, MergeRequest, Project, User
from .operations import add_note
from .routing import Ctx, Response, route

if TYPE_CHECKING:
    from .sim import GitLabSim


def approval_state(sim: GitLabSim, project: Project, mr: MergeRequest, user: User | None) -> dict:
    """API::Entities::ApprovalState for ``user`` (the caller)."""
    status = sim.mr_status(project, mr)
    approved_ids = [a.user_id for a in mr.approvals]
    required = sim.approvals_required(project, mr)
    left = sim.approvals_left(project, mr)
    return {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": ts(mr.created_at),
        "updated_at": ts(mr.updated_at),
        "web_url": f"{sim.url}/{project.path_with_namespace}/-/merge_requests/{mr.iid}",
        "merge_status": status["merge_status"],
        "approved": left == 0,
        "approvals_required": required,
        "approvals_left": left,
        "require_password_to_approve": False,
        "approved_by": [
            {"user": user_basic(sim, sim.state.users[a.user_id]), "approved_at": ts(a.created_at)}
            for a in mr.approvals
        ],
        "suggested_approvers": [],
        "approvers": [],
        "approver_groups": [],
        "user_has_approved": user is not None and user.id in approved_ids,
        "user_can_approve": can_be_approved_by(sim, project, mr, user),
        "approval_rules_left": [],
        "has_approval_rules": required > 0,
        "merge_request_approvers_available": True,
        "multiple_approval_rules_available": True,
        "invalid_approvers_rules": [],
    }


def can_be_approved_by(sim: GitLabSim, project: Project, mr: MergeRequest, user) -> bool:
    """MergeRequest#can_be_approved_by?: not yet approved by them, and allowed to approve."""
    if user is None or any(a.user_id == user.id for a in mr.approvals):
        return False
    if user.id == mr.author_id and not project.merge_requests_author_approval:
        return False
    return sim.state.can_update_mr(user, project, mr)


def add_approval(sim: GitLabSim, project: Project, mr: MergeRequest, user: User) -> None:
    """ApprovalService (after its checks): the approval and its system note."""
    mr.approvals.append(Approval(user_id=user.id, created_at=sim.state.now()))
    add_note(sim, project, mr, user, "approved this merge request", system=True)


def remove_approval(sim: GitLabSim, project: Project, mr: MergeRequest, user: User) -> bool:
    """RemoveApprovalService: drops ``user``'s approval; False when there was none."""
    mine = [a for a in mr.approvals if a.user_id == user.id]
    if not mine:
        return False
    mr.approvals.remove(mine[0])
    add_note(sim, project, mr, user, "unapproved this merge request", system=True)
    return True


def _mr_with_access(ctx: Ctx, write: bool) -> tuple[Project, MergeRequest]:
    """find_merge_request_with_access: 404 when the MR cannot be read, 403 without the right."""
    project = ctx.project()
    mr = ctx.state.mr(project, ctx.arg("merge_request_iid"))
    if mr is None or not ctx.state.can_read_code(ctx.user, project):
        raise errors.not_found()
    if write and not ctx.state.can_update_mr(ctx.user, project, mr):
        raise errors.forbidden()
    return project, mr


@route("GET", "/projects/:id/merge_requests/:merge_request_iid/approvals")
def get_approvals(ctx: Ctx) -> Response:
    project, mr = _mr_with_access(ctx, write=False)
    return Response(200, approval_state(ctx.sim, project, mr, ctx.user))


@route("POST", "/projects/:id/merge_requests/:merge_request_iid/approve")
def approve(ctx: Ctx) -> Response:
    project, mr = _mr_with_access(ctx, write=True)
    user = ctx.require_user()
    head = ctx.sim.mr_status(project, mr)["head_sha"]
    sha = ctx.arg("sha")
    if sha not in (None, "") and sha != head:
        raise errors.render_error(f"SHA does not match HEAD of source branch: {head}", 409)
    if not can_be_approved_by(ctx.sim, project, mr, user):
        raise errors.unauthorized()
    add_approval(ctx.sim, project, mr, user)
    return Response(201, approval_state(ctx.sim, project, mr, user))


@route("POST", "/projects/:id/merge_requests/:merge_request_iid/unapprove")
def unapprove(ctx: Ctx) -> Response:
    project, mr = _mr_with_access(ctx, write=True)
    user = ctx.require_user()
    if not remove_approval(ctx.sim, project, mr, user):
        raise errors.not_found()
    return Response(201, approval_state(ctx.sim, project, mr, user))
