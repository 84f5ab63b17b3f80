"""Projects, members, branches and protected branches."""

from __future__ import annotations

import re

from . import errors
from .entities import access_name, commit_entity, member_entity, project_entity
from .gitrepo import GitError
from .models import DEVELOPER, MAINTAINER, validated_ci_config_path
from .routing import Ctx, Response, route

LEVEL_DESCRIPTIONS = {0: "No one", 30: "Developers + Maintainers", 40: "Maintainers", 60: "Admins"}
BRANCH_NAME = re.compile(
    r"^(?!/|.*([/.]\.|//|@\{|\\|\.lock$|\.lock/))[^\x00-\x20~^:?*\[\x7f]+(?<![/.])$"
)


@route("GET", "/projects")
def list_projects(ctx: Ctx) -> Response:
    state = ctx.state
    projects = [p for p in state.projects.values() if state.can_see(ctx.user, p)]
    if ctx.flag("membership") or ctx.flag("owned"):
        projects = [p for p in projects if state.access_level(ctx.user, p) > 0]
    search = ctx.arg("search")
    if search:
        projects = [p for p in projects if str(search).lower() in p.path_with_namespace.lower()]
    projects.sort(key=lambda p: -p.id)
    return ctx.paginate(projects, lambda p: project_entity(ctx.sim, p, ctx.user))


@route("GET", "/projects/:id")
def get_project(ctx: Ctx) -> Response:
    return Response(200, project_entity(ctx.sim, ctx.project(), ctx.user))


@route("PUT", "/projects/:id")
def edit_project(ctx: Ctx) -> Response:
    """PUT /projects/:id (admin_project: Maintainer), the settings the simulator models."""
    project = ctx.project()
    if ctx.state.access_level(ctx.user, project) < MAINTAINER:
        raise errors.forbidden()
    if "ci_config_path" in ctx.params:
        try:
            project.ci_config_path = validated_ci_config_path(ctx.params["ci_config_path"])
        except ValueError as exc:
            raise errors.render_error({"ci_config_path": [str(exc)]}, 400) from None
    return Response(200, project_entity(ctx.sim, project, ctx.user))


# Members API (lib/api/members.rb, doc/api/members.md): ``/members`` lists direct members only;
# ``/members/all`` adds the members inherited from the namespace and its ancestor groups, each
# user once with the highest access level. A user without such a membership is 404
# ``Member Not Found`` on ``/members/all/:user_id`` (and on ``/members/:user_id`` when the
# membership is only inherited). Readable by whoever can see the project.
@route("GET", "/projects/:id/members")
def list_direct_members(ctx: Ctx) -> Response:
    return _list(ctx, ctx.project().members)


@route("GET", "/projects/:id/members/all")
def list_members(ctx: Ctx) -> Response:
    project = ctx.project()
    return _list(ctx, ctx.state.all_members(project))


def _list(ctx: Ctx, levels: dict[int, int]) -> Response:
    members = [(ctx.state.users[uid], level) for uid, level in sorted(levels.items())]
    return ctx.paginate(members, lambda m: member_entity(ctx.sim, m[0], m[1]))


@route("GET", "/projects/:id/members/all/:user_id")
def get_member_all(ctx: Ctx) -> Response:
    project = ctx.project()
    return _member(ctx, ctx.state.all_members(project))


@route("GET", "/projects/:id/members/:user_id")
def get_member(ctx: Ctx) -> Response:
    return _member(ctx, ctx.project().members)


def _member(ctx: Ctx, levels: dict[int, int]) -> Response:
    user_id = ctx.int_arg("user_id")
    if user_id not in levels:
        raise errors.not_found("Member")
    return Response(200, member_entity(ctx.sim, ctx.state.users[user_id], levels[user_id]))


# -- branches ------------------------------------------------------------------------------
def branch_entity(ctx: Ctx, project, name: str, sha: str) -> dict:
    repo = ctx.sim.repo(project)
    state = ctx.state
    rules = project.protection_for(name)
    default_sha = repo.branch_sha(project.default_branch)
    return {
        "name": name,
        "commit": commit_entity(ctx.sim, project, repo.commit_info(sha)),
        "merged": bool(
            default_sha and name != project.default_branch and repo.is_ancestor(sha, default_sha)
        ),
        "protected": bool(rules),
        "developers_can_push": bool(rules) and all(r.push_access_level <= DEVELOPER for r in rules),
        "developers_can_merge": bool(rules)
        and all(r.merge_access_level <= DEVELOPER for r in rules),
        "can_push": state.can_push(ctx.user, project, name),
        "default": name == project.default_branch,
        "web_url": f"{ctx.sim.url}/{project.path_with_namespace}/-/tree/{name}",
    }


@route("GET", "/projects/:id/repository/branches")
def list_branches(ctx: Ctx) -> Response:
    project = ctx.code_project()
    branches = list(ctx.sim.repo(project).branches().items())
    search = ctx.arg("search")
    if search:
        branches = [b for b in branches if str(search).lower() in b[0].lower()]
    return ctx.paginate(branches, lambda b: branch_entity(ctx, project, b[0], b[1]))


@route("GET", "/projects/:id/repository/branches/:branch")
def get_branch(ctx: Ctx) -> Response:
    project = ctx.code_project()
    name = ctx.arg("branch")
    sha = ctx.sim.repo(project).branch_sha(name)
    if sha is None:
        raise errors.not_found("Branch")
    return Response(200, branch_entity(ctx, project, name, sha))


@route("POST", "/projects/:id/repository/branches")
def create_branch(ctx: Ctx) -> Response:
    project = ctx.code_project()
    name, ref = ctx.require("branch", "ref")
    name, ref = str(name), str(ref)
    if ctx.state.access_level(ctx.user, project) < DEVELOPER:
        raise errors.forbidden()
    if not ctx.state.can_push(ctx.user, project, name):
        raise errors.forbidden("You are not allowed to push into this branch")
    repo = ctx.sim.repo(project)
    if not BRANCH_NAME.match(name):
        raise errors.render_error("Branch name is invalid", 400)
    if repo.branch_sha(name):
        raise errors.render_error("Branch already exists", 400)
    sha = repo.resolve(ref)
    if sha is None:
        raise errors.render_error(f"Invalid reference name: {ref}", 400)
    try:
        repo.update_ref(f"refs/heads/{name}", sha, "0" * 40)
    except GitError:
        raise errors.render_error("Branch name is invalid", 400) from None
    return Response(201, branch_entity(ctx, project, name, sha))


@route("DELETE", "/projects/:id/repository/branches/:branch")
def delete_branch(ctx: Ctx) -> Response:
    project = ctx.code_project()
    name = ctx.arg("branch")
    repo = ctx.sim.repo(project)
    if ctx.state.access_level(ctx.user, project) < DEVELOPER:
        raise errors.forbidden()
    if repo.branch_sha(name) is None:
        raise errors.not_found("Branch")
    if name == project.default_branch:
        raise errors.render_error("The default branch of a project cannot be deleted.", 400)
    if project.protection_for(name):
        raise errors.forbidden()
    repo.delete_ref(f"refs/heads/{name}")
    return Response(204)


# -- protected branches --------------------------------------------------------------------
def _levels(rule_id: int, level: int) -> list[dict]:
    return [
        {
            "id": rule_id,
            "access_level": level,
            "access_level_description": LEVEL_DESCRIPTIONS.get(level, access_name(level)),
            "deploy_key_id": None,
            "user_id": None,
            "group_id": None,
        }
    ]


def protected_entity(rule) -> dict:
    return {
        "id": rule.id,
        "name": rule.name,
        "push_access_levels": _levels(rule.id, rule.push_access_level),
        "merge_access_levels": _levels(rule.id, rule.merge_access_level),
        "unprotect_access_levels": [],
        "allow_force_push": rule.allow_force_push,
        "code_owner_approval_required": False,
        "inherited": False,
    }


def _protected_project(ctx: Ctx):
    project = ctx.project()
    if not ctx.state.can_read_protected_branches(ctx.user, project):
        raise errors.forbidden()
    return project


@route("GET", "/projects/:id/protected_branches")
def list_protected(ctx: Ctx) -> Response:
    project = _protected_project(ctx)
    return ctx.paginate(project.protected_branches, protected_entity)


@route("GET", "/projects/:id/protected_branches/:name")
def get_protected(ctx: Ctx) -> Response:
    project = _protected_project(ctx)
    for rule in project.protected_branches:
        if rule.name == ctx.arg("name"):
            return Response(200, protected_entity(rule))
    raise errors.not_found()
