"""Issues and notes (on issues and merge requests)."""

from __future__ import annotations

from . import errors
from .entities import note_entity
from .entities_work import issue_entity
from .models import REPORTER, Issue, MergeRequest
from .operations import add_note, update_issuable
from .quick_action_ops import apply, interpret
from .routing import Ctx, Response, route

UPDATE_PARAMS = (
    "title",
    "description",
    "assignee_id",
    "assignee_ids",
    "labels",
    "add_labels",
    "remove_labels",
    "state_event",
    "confidential",
    "target_branch",
    "reviewer_ids",
)


def can_read_issue(ctx: Ctx, project, issue: Issue) -> bool:
    if not issue.confidential:
        return True
    user = ctx.user
    return user is not None and (
        ctx.state.access_level(user, project) >= REPORTER
        or issue.author_id == user.id
        or user.id in issue.assignee_ids
    )


def find_issue(ctx: Ctx, project, param: str = "issue_iid", missing: str | None = None) -> Issue:
    issue = project.issues.get(ctx.int_arg(param) or 0)
    if issue is None or not can_read_issue(ctx, project, issue):
        raise errors.not_found(missing)
    return issue


def _sorted(ctx: Ctx, items: list, default_sort: str = "desc") -> list:
    key = "updated_at" if ctx.arg("order_by") == "updated_at" else "created_at"
    reverse = (ctx.arg("sort") or default_sort) != "asc"
    return sorted(items, key=lambda o: (getattr(o, key), o.id), reverse=reverse)


@route("GET", "/projects/:id/issues")
def list_issues(ctx: Ctx) -> Response:
    project = ctx.project()
    issues = [i for i in project.issues.values() if can_read_issue(ctx, project, i)]
    wanted = ctx.arg("state")
    if wanted in ("opened", "closed"):
        issues = [i for i in issues if i.state == wanted]
    for label in ctx.str_list("labels") or []:
        issues = [i for i in issues if label in i.labels]
    if ctx.arg("assignee_id") not in (None, ""):
        issues = [i for i in issues if ctx.int_arg("assignee_id") in i.assignee_ids]
    if ctx.arg("assignee_username"):
        user = ctx.state.user(str(ctx.arg("assignee_username")))
        issues = [i for i in issues if user and user.id in i.assignee_ids]
    if ctx.arg("author_id") not in (None, ""):
        issues = [i for i in issues if i.author_id == ctx.int_arg("author_id")]
    iids = ctx.id_list("iids")
    if iids:
        issues = [i for i in issues if i.iid in iids]
    return ctx.paginate(_sorted(ctx, issues), lambda i: issue_entity(ctx.sim, project, i))


@route("GET", "/projects/:id/issues/:issue_iid")
def get_issue(ctx: Ctx) -> Response:
    project = ctx.project()
    return Response(200, issue_entity(ctx.sim, project, find_issue(ctx, project)))


@route("POST", "/projects/:id/issues")
def create_issue(ctx: Ctx) -> Response:
    project = ctx.project()
    (title,) = ctx.require("title")
    user = ctx.require_user()
    admin = ctx.state.can_admin_issuable(user, project)
    assignees = (ctx.id_list("assignee_ids") or []) if admin else []
    labels = (ctx.str_list("labels") or []) if admin else []
    sim = ctx.sim
    text = interpret(sim, project, user, None, str(ctx.arg("description") or ""), is_mr=False)
    assignees, labels = creation_updates(text.updates, assignees, labels)
    issue = sim.add_issue(
        project,
        str(title),
        text.content,
        user,
        assignees,
        labels,
        bool(ctx.flag("confidential")),
    )
    sim.dispatch_async(sim.issuable_event(project, issue, user, "open", None))
    return Response(201, issue_entity(sim, project, issue))


def creation_updates(
    updates: dict, assignees: list[int], labels: list[str]
) -> tuple[list[int], list[str]]:
    """A new object's assignees and labels with those its description's commands set."""
    assignees = list(dict.fromkeys([*assignees, *updates.get("assignee_ids", [])]))
    return assignees, list(dict.fromkeys([*labels, *updates.get("add_labels", [])]))


def apply_update(ctx: Ctx, project, obj: Issue | MergeRequest) -> None:
    """PUT on an issue or MR: permission, parameters, changes, webhook."""
    user = ctx.require_user()
    if not any(name in ctx.params for name in UPDATE_PARAMS):
        raise errors.ApiError(
            400,
            {
                "error": ", ".join(UPDATE_PARAMS)
                + " are missing, at least one parameter must be provided"
            },
        )
    admin = ctx.state.can_admin_issuable(user, project)
    is_mr = isinstance(obj, MergeRequest)
    if is_mr and ctx.state.access_level(user, project) < 30 and obj.author_id != user.id:
        raise errors.forbidden()
    if not admin and obj.author_id != user.id:
        raise errors.forbidden()
    assignees = ctx.id_list("assignee_ids")
    if assignees is None and "assignee_id" in ctx.params:
        single = ctx.int_arg("assignee_id")
        assignees = [single] if single else []
    if assignees is not None and any(ctx.state.user(i) is None for i in assignees):
        assignees = [i for i in assignees if ctx.state.user(i) is not None]
    changes = {
        "title": ctx.arg("title"),
        "description": ctx.arg("description"),
        "assignee_ids": assignees if admin else None,
        "labels": ctx.str_list("labels") if admin else None,
        "add_labels": ctx.str_list("add_labels") if admin else None,
        "remove_labels": ctx.str_list("remove_labels") if admin else None,
        "state_event": ctx.arg("state_event"),
    }
    if is_mr:
        changes["target_branch"] = ctx.arg("target_branch")
        changes["reviewer_ids"] = ctx.id_list("reviewer_ids") if admin else None
    if "confidential" in ctx.params and not is_mr and admin:
        obj.confidential = bool(ctx.flag("confidential"))
    text = None
    if changes["description"] is not None:
        text = interpret(ctx.sim, project, user, obj, str(changes["description"]), is_mr=is_mr)
        changes["description"] = text.content
    before, action = update_issuable(ctx.sim, project, obj, user, **changes)
    if action:
        ctx.sim.dispatch_async(ctx.sim.issuable_event(project, obj, user, action, before))
    if text is not None:
        apply(ctx.sim, project, user, obj, text)


@route("PUT", "/projects/:id/issues/:issue_iid")
def update_issue(ctx: Ctx) -> Response:
    project = ctx.project()
    issue = find_issue(ctx, project)
    apply_update(ctx, project, issue)
    return Response(200, issue_entity(ctx.sim, project, issue))


# -- notes ---------------------------------------------------------------------------------
def noteable(ctx: Ctx, kind: str) -> tuple:
    project = ctx.project()
    if kind == "issues":
        return project, find_issue(ctx, project, "noteable_id", "Issue")
    if not ctx.state.can_read_code(ctx.user, project):
        raise errors.not_found("MergeRequest")
    mr = project.merge_requests.get(ctx.int_arg("noteable_id") or 0)
    if mr is None:
        raise errors.not_found("MergeRequest")
    return project, mr


def _visible_notes(ctx: Ctx, project, obj) -> list:
    private = ctx.state.access_level(ctx.user, project) >= REPORTER
    return [n for n in obj.notes if private or not n.internal]


def _list_notes(ctx: Ctx, kind: str) -> Response:
    project, obj = noteable(ctx, kind)
    notes = _sorted(ctx, _visible_notes(ctx, project, obj))
    return ctx.paginate(notes, lambda n: note_entity(ctx.sim, n))


def _get_note(ctx: Ctx, kind: str) -> Response:
    project, obj = noteable(ctx, kind)
    for note in _visible_notes(ctx, project, obj):
        if note.id == ctx.int_arg("note_id"):
            return Response(200, note_entity(ctx.sim, note))
    raise errors.not_found("Note")


def _create_note(ctx: Ctx, kind: str) -> Response:
    project, obj = noteable(ctx, kind)
    (body,) = ctx.require("body")
    user = ctx.require_user()
    if not ctx.state.can_comment(user, project, type(obj).__name__):
        raise errors.forbidden()
    internal = bool(ctx.flag("internal", False))
    sim = ctx.sim
    head_sha = ctx.arg("merge_request_diff_head_sha")
    text = interpret(sim, project, user, obj, str(body), is_mr=isinstance(obj, MergeRequest),
                     head_sha=str(head_sha) if head_sha else None)  # fmt: skip
    if text.commands_only:  # no note is created: 202 and what the commands did
        apply(sim, project, user, obj, text)
        return Response(202, {"commands_changes": text.changes(), "summary": text.summary()})
    note = add_note(sim, project, obj, user, text.content, system=False, internal=internal)
    sim.dispatch_async(sim.note_event(project, obj, note))
    apply(sim, project, user, obj, text)
    return Response(201, {**note_entity(sim, note), "commands_changes": text.changes()})


for _kind in ("issues", "merge_requests"):
    route("GET", f"/projects/:id/{_kind}/:noteable_id/notes")(
        lambda ctx, k=_kind: _list_notes(ctx, k)
    )
    route("GET", f"/projects/:id/{_kind}/:noteable_id/notes/:note_id")(
        lambda ctx, k=_kind: _get_note(ctx, k)
    )
    route("POST", f"/projects/:id/{_kind}/:noteable_id/notes")(
        lambda ctx, k=_kind: _create_note(ctx, k)
    )
