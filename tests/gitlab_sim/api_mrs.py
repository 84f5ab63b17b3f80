"""Merge requests: list, get, create, update, merge, diffs, changes, commits, pipelines."""

from __future__ import annotations

from dataclasses import asdict

from . import errors
from .api_issues import apply_update, creation_updates
from .entities import commit_entity
from .entities_work import mr_entity, pipeline_basic
from .models import DEVELOPER, MergeRequest
from .mr_ops import create_merge_request, merge
from .operations import snapshot
from .quick_action_ops import interpret
from .routing import Ctx, Response, route


def find_mr(ctx: Ctx) -> tuple:
    project = ctx.code_project()
    mr = ctx.state.mr(project, ctx.arg("merge_request_iid"))
    if mr is None:
        raise errors.not_found()
    return project, mr


@route("GET", "/projects/:id/merge_requests")
def list_mrs(ctx: Ctx) -> Response:
    project = ctx.code_project()
    mrs: list[MergeRequest] = list(project.merge_requests.values())
    wanted = ctx.arg("state")
    if wanted in ("opened", "closed", "merged", "locked"):
        mrs = [m for m in mrs if m.state == wanted]
    for name in ("source_branch", "target_branch"):
        if ctx.arg(name):
            mrs = [m for m in mrs if getattr(m, name) == ctx.arg(name)]
    for label in ctx.str_list("labels") or []:
        mrs = [m for m in mrs if label in m.labels]
    if ctx.arg("author_id") not in (None, ""):
        mrs = [m for m in mrs if m.author_id == ctx.int_arg("author_id")]
    if ctx.arg("assignee_id") not in (None, ""):
        mrs = [m for m in mrs if ctx.int_arg("assignee_id") in m.assignee_ids]
    iids = ctx.id_list("iids")
    if iids:
        mrs = [m for m in mrs if m.iid in iids]
    key = "updated_at" if ctx.arg("order_by") == "updated_at" else "created_at"
    mrs.sort(key=lambda m: (getattr(m, key), m.id), reverse=ctx.arg("sort") != "asc")
    return ctx.paginate(mrs, lambda m: mr_entity(ctx.sim, project, m, full=False))


@route("GET", "/projects/:id/merge_requests/:merge_request_iid")
def get_mr(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    data = mr_entity(ctx.sim, project, mr)
    data["user"]["can_merge"] = ctx.state.can_merge(ctx.user, project, mr.target_branch)
    return Response(200, data)


@route("POST", "/projects/:id/merge_requests")
def create_mr(ctx: Ctx) -> Response:
    source_project = ctx.code_project()
    source_branch, target_branch, title = ctx.require("source_branch", "target_branch", "title")
    user = ctx.require_user()
    if ctx.state.access_level(user, source_project) < DEVELOPER:
        raise errors.forbidden()
    target_project = source_project
    if ctx.arg("target_project_id") not in (None, ""):
        target_project = ctx.state.project(ctx.int_arg("target_project_id"))
        related = target_project is not None and (
            target_project.id == source_project.id
            or source_project.forked_from_id == target_project.id
        )
        if not related or not ctx.state.can_read_code(user, target_project):
            raise errors.render_error(
                ["The forked project does not exist or is not accessible"], 422
            )
    admin = ctx.state.can_admin_issuable(user, target_project)
    assignees = ctx.id_list("assignee_ids")
    if assignees is None and ctx.arg("assignee_id") not in (None, ""):
        assignees = [ctx.int_arg("assignee_id")]
    description = str(ctx.arg("description") or "")
    text = interpret(ctx.sim, target_project, user, None, description, is_mr=True)
    assignees, labels = creation_updates(
        text.updates,
        (assignees or []) if admin else [],
        (ctx.str_list("labels") or []) if admin else [],
    )
    mr = create_merge_request(
        ctx.sim,
        target_project,
        user,
        str(source_branch),
        str(target_branch),
        str(title),
        source_project=source_project,
        description=text.content,
        assignee_ids=assignees,
        reviewer_ids=(ctx.id_list("reviewer_ids") or []) if admin else [],
        labels=labels,
        squash=bool(ctx.flag("squash", False)),
        remove_source_branch=bool(ctx.flag("remove_source_branch", False)),
    )
    ctx.sim.dispatch_async(ctx.sim.issuable_event(target_project, mr, user, "open", None))
    return Response(201, mr_entity(ctx.sim, target_project, mr))


@route("PUT", "/projects/:id/merge_requests/:merge_request_iid")
def update_mr(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    if (
        ctx.arg("target_branch")
        and ctx.sim.repo(project).branch_sha(str(ctx.arg("target_branch"))) is None
    ):
        raise errors.render_error(
            [f'Target branch "{ctx.arg("target_branch")}" does not exist'], 422
        )
    apply_update(ctx, project, mr)
    return Response(200, mr_entity(ctx.sim, project, mr))


@route("PUT", "/projects/:id/merge_requests/:merge_request_iid/merge")
def merge_mr(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    user = ctx.require_user()
    before = snapshot(mr)
    merge(
        ctx.sim,
        project,
        mr,
        user,
        sha=ctx.arg("sha"),
        squash=ctx.flag("squash"),
        merge_commit_message=ctx.arg("merge_commit_message"),
        squash_commit_message=ctx.arg("squash_commit_message"),
        should_remove_source_branch=ctx.flag("should_remove_source_branch"),
    )
    ctx.sim.dispatch_async(ctx.sim.issuable_event(project, mr, user, "merge", before))
    return Response(200, mr_entity(ctx.sim, project, mr))


def _diffs(ctx: Ctx, project, mr) -> list[dict]:
    status = ctx.sim.mr_status(project, mr)
    if not status["base_sha"] or not status["head_sha"]:
        return []
    diffs = ctx.sim.repo(project).diff(status["base_sha"], status["head_sha"])
    return [dict(asdict(d), generated_file=False) for d in diffs]


@route("GET", "/projects/:id/merge_requests/:merge_request_iid/diffs")
def mr_diffs(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    return ctx.paginate(_diffs(ctx, project, mr))


@route("GET", "/projects/:id/merge_requests/:merge_request_iid/changes")
def mr_changes(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    data = mr_entity(ctx.sim, project, mr)
    data["changes"] = _diffs(ctx, project, mr)
    data["overflow"] = False
    return Response(200, data)


@route("GET", "/projects/:id/merge_requests/:merge_request_iid/commits")
def mr_commits(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    status = ctx.sim.mr_status(project, mr)
    repo = ctx.sim.repo(project)
    shas = []
    if status["base_sha"] and status["head_sha"]:
        shas = repo.log(f"{status['base_sha']}..{status['head_sha']}")
    return ctx.paginate(shas, lambda s: commit_entity(ctx.sim, project, repo.commit_info(s)))


@route("GET", "/projects/:id/merge_requests/:merge_request_iid/pipelines")
def mr_pipelines(ctx: Ctx) -> Response:
    project, mr = find_mr(ctx)
    pipelines = [
        p
        for p in ctx.state.pipelines.values()
        if p.project_id == project.id
        and (
            p.merge_request_iid == mr.iid
            or (p.ref == mr.source_branch and p.merge_request_iid is None)
        )
    ]
    pipelines.sort(key=lambda p: -p.id)
    return ctx.paginate(pipelines, lambda p: pipeline_basic(ctx.sim, p))
