"""Repository files, trees and commits (with actions) on the real repositories."""

from __future__ import annotations

import base64

from . import commits, errors
from .entities import commit_entity
from .gitrepo import GitError, Identity
from .routing import Ctx, Response, Stream, route


def _ref_sha(ctx: Ctx, project, ref: str | None) -> str:
    sha = ctx.sim.repo(project).resolve(ref or project.default_branch)
    if sha is None:
        raise errors.not_found("Commit")
    return sha


def _file(ctx: Ctx, ref_required: bool) -> tuple[dict, str, dict[str, str]]:
    """The blob's metadata (GitLab's ``blob_data``), its id, and the X-Gitlab-* headers GitLab
    sets from that metadata. The content is not loaded: GitLab loads it only for the JSON GET."""
    project = ctx.code_project()
    if ref_required and not ctx.arg("ref"):
        raise errors.missing("ref")
    ref = ctx.arg("ref") or project.default_branch
    sha = _ref_sha(ctx, project, ref)
    path = ctx.arg("file_path").strip("/")
    repo = ctx.sim.repo(project)
    found = repo.blob_at(sha, path)
    if found is None:
        raise errors.not_found("File")
    mode, blob_id = found
    meta = {
        "file_name": path.rsplit("/", 1)[-1],
        "file_path": path,
        "size": repo.blob_size(blob_id),
        "encoding": "base64",
        "content_sha256": repo.blob_sha256(blob_id),
        "ref": ref,
        "blob_id": blob_id,
        "commit_id": sha,
        "last_commit_id": repo.last_commit_for_path(sha, path),
        "execute_filemode": mode == "100755",
    }
    headers = {
        f"X-Gitlab-{key.replace('_', '-').title()}": str(value).lower()
        if isinstance(value, bool)
        else str(value)
        for key, value in meta.items()
    }
    return meta, blob_id, headers


@route("HEAD", "/projects/:id/repository/files/:file_path")
def head_file(ctx: Ctx) -> Response:
    """File metadata only, in X-Gitlab-* headers (no body, the blob is not read)."""
    _meta, _blob_id, headers = _file(ctx, ref_required=True)
    return Response(200, None, headers)


@route("GET", "/projects/:id/repository/files/:file_path")
def get_file(ctx: Ctx) -> Response:
    meta, blob_id, headers = _file(ctx, ref_required=True)
    data = ctx.sim.repo(ctx.code_project()).read_blob(blob_id)
    meta["content"] = base64.b64encode(data).decode()
    return Response(200, meta, headers)


@route("GET", "/projects/:id/repository/files/:file_path/raw")
def get_raw_file(ctx: Ctx) -> Response:
    """The blob streamed (Workhorse's send_git_blob), with the same X-Gitlab-* headers."""
    meta, blob_id, headers = _file(ctx, ref_required=False)
    headers["Content-Disposition"] = "inline"
    repo = ctx.sim.repo(ctx.code_project())
    body = Stream(repo.stream_blob(blob_id), length=meta["size"])
    return Response(200, body, headers, content_type="text/plain; charset=utf-8")


@route("GET", "/projects/:id/repository/tree")
def tree(ctx: Ctx) -> Response:
    project = ctx.code_project()
    repo = ctx.sim.repo(project)
    sha = repo.resolve(ctx.arg("ref") or project.default_branch)
    if sha is None:
        raise errors.not_found("Tree")
    path = str(ctx.arg("path") or "").strip("/")
    recursive = bool(ctx.flag("recursive", False))
    try:
        entries = repo.ls_tree(sha, path, recursive=recursive)
    except FileNotFoundError:
        raise errors.not_found("Tree") from None
    if not recursive:
        entries.sort(key=lambda e: (e["type"] != "tree", e["name"]))
    return ctx.paginate(
        entries,
        lambda e: {
            "id": e["id"],
            "name": e["name"],
            "type": e["type"],
            "path": e["path"],
            "mode": e["mode"],
        },
    )


# -- commits -------------------------------------------------------------------------------
def detail(ctx: Ctx, project, sha: str, stats: dict | None = None) -> dict:
    repo = ctx.sim.repo(project)
    info = repo.commit_info(sha)
    data = commit_entity(ctx.sim, project, info)
    parent = info["parent_ids"][0] if info["parent_ids"] else None
    data["stats"] = stats or commits.diff_stats(repo, parent, sha)
    pipelines = [
        p for p in ctx.state.pipelines.values() if p.project_id == project.id and p.sha == sha
    ]
    last = pipelines[-1] if pipelines else None
    data["status"] = last.status if last else None
    data["project_id"] = project.id
    data["last_pipeline"] = (
        {
            "id": last.id,
            "iid": last.iid,
            "project_id": project.id,
            "sha": sha,
            "ref": last.ref,
            "status": last.status,
        }
        if last
        else None
    )
    return data


@route("GET", "/projects/:id/repository/commits/:sha")
def get_commit(ctx: Ctx) -> Response:
    project = ctx.code_project()
    sha = ctx.sim.repo(project).resolve(ctx.arg("sha"))
    if sha is None:
        raise errors.not_found("Commit")
    return Response(200, detail(ctx, project, sha))


@route("GET", "/projects/:id/repository/commits/:sha/refs")
def commit_refs(ctx: Ctx) -> Response:
    """The branches and tags that contain a commit (lib/api/commits.rb), branches first;
    paginated without a total, as GitLab's limited Gitaly look-up is."""
    project = ctx.code_project()
    repo = ctx.sim.repo(project)
    sha = repo.resolve(ctx.arg("sha"))
    if sha is None:
        raise errors.not_found("Commit")
    kind = ctx.arg("type") or "all"
    if kind not in ("branch", "tag", "all"):
        raise errors.ApiError(400, {"error": "type does not have a valid value"})
    refs = []
    if kind != "tag":
        refs += [{"type": "branch", "name": n} for n in repo.containing(sha, "refs/heads")]
    if kind != "branch":
        refs += [{"type": "tag", "name": n} for n in repo.containing(sha, "refs/tags")]
    response = ctx.paginate(refs)
    for header in ("X-Total", "X-Total-Pages"):
        response.headers.pop(header, None)
    links = response.headers["Link"].split(", ")
    response.headers["Link"] = ", ".join(link for link in links if 'rel="last"' not in link)
    return response


@route("GET", "/projects/:id/repository/tags")
def list_tags(ctx: Ctx) -> Response:
    project = ctx.code_project()
    tags = list(ctx.sim.repo(project).tags().items())
    return ctx.paginate(tags, lambda t: _tag_entity(ctx, project, *t))


@route("GET", "/projects/:id/repository/tags/:tag_name")
def get_tag(ctx: Ctx) -> Response:
    project = ctx.code_project()
    name = ctx.arg("tag_name")
    sha = ctx.sim.repo(project).tags().get(name)
    if sha is None:
        raise errors.not_found("Tag")
    return Response(200, _tag_entity(ctx, project, name, sha))


def _tag_entity(ctx: Ctx, project, name: str, sha: str) -> dict:
    repo = ctx.sim.repo(project)
    target = repo.out("rev-parse", f"refs/tags/{name}")
    return {
        "name": name,
        "message": "",
        "target": target,
        "commit": commit_entity(ctx.sim, project, repo.commit_info(sha)),
        "release": None,
        "protected": False,
        "created_at": None,
    }


@route("GET", "/projects/:id/repository/commits")
def list_commits(ctx: Ctx) -> Response:
    project = ctx.code_project()
    repo = ctx.sim.repo(project)
    sha = repo.resolve(ctx.arg("ref_name") or project.default_branch)
    if sha is None:
        return ctx.paginate([])
    shas = repo.log(sha, path=ctx.arg("path") or None)
    return ctx.paginate(shas, lambda s: commit_entity(ctx.sim, project, repo.commit_info(s)))


@route("POST", "/projects/:id/repository/commits")
def create_commit(ctx: Ctx) -> Response:
    project = ctx.code_project()
    branch, message, actions = ctx.require("branch", "commit_message", "actions")
    branch, message = str(branch), str(message)
    if not isinstance(actions, list) or not actions:
        raise errors.missing("actions")
    for i, action in enumerate(actions):
        if not isinstance(action, dict) or action.get("action") not in commits.ACTIONS:
            raise errors.invalid(f"actions[{i}][action]")
        if not action.get("file_path"):
            raise errors.missing(f"actions[{i}][file_path]")
    start_branch, start_sha = ctx.arg("start_branch"), ctx.arg("start_sha")
    if start_branch and start_sha:
        raise errors.bad_request("start_branch, start_sha are mutually exclusive.")
    state, user = ctx.state, ctx.require_user()
    if not state.can_push(user, project, branch):
        raise errors.forbidden("You are not allowed to push into this branch")
    repo = ctx.sim.repo(project)
    existing = repo.branch_sha(branch)
    force = bool(ctx.flag("force", False))
    empty = not repo.branches()
    start = str(start_branch or branch)
    if start_sha:
        parent = repo.resolve(str(start_sha))
        if parent is None:
            raise errors.render_error(f"Invalid start_sha: {start_sha}", 400)
    else:
        parent = repo.branch_sha(start)
        if parent is None and not empty:
            raise errors.render_error(
                "You can only create or edit files when you are on a branch", 400
            )
    if existing and (start_sha or start != branch) and not force:
        raise errors.render_error(
            f"A branch called '{branch}' already exists. Switch to that branch in order to make changes",
            400,
        )
    if existing and force and project.protection_for(branch):
        raise errors.forbidden("You are not allowed to force push into this branch")
    author = Identity(
        str(ctx.arg("author_name") or user.name), str(ctx.arg("author_email") or user.email)
    )
    try:
        sha, stats = commits.commit(repo, parent, actions, message.rstrip("\n") + "\n", author)
        repo.update_ref(f"refs/heads/{branch}", sha, existing or "0" * 40)
    except GitError as exc:
        raise errors.render_error(str(exc), 400) from None
    ctx.sim.refresh_merge_request_refs(project)
    return Response(201, detail(ctx, project, sha, stats))


# -- single-file writes (python-gitlab's project.files) -------------------------------------
def _file_write(ctx: Ctx, kind: str) -> Response:
    ctx.require("branch", "commit_message")
    action = {
        "action": kind,
        "file_path": ctx.arg("file_path"),
        "content": ctx.arg("content"),
        "encoding": ctx.arg("encoding"),
        "last_commit_id": ctx.arg("last_commit_id"),
        "execute_filemode": ctx.flag("execute_filemode"),
    }
    ctx.params["actions"] = [action]
    created = create_commit(ctx)
    if kind == "delete":
        return Response(204)
    return Response(
        201 if kind == "create" else 200,
        {"file_path": action["file_path"], "branch": ctx.arg("branch")},
        created.headers,
    )


@route("POST", "/projects/:id/repository/files/:file_path")
def create_file(ctx: Ctx) -> Response:
    return _file_write(ctx, "create")


@route("PUT", "/projects/:id/repository/files/:file_path")
def update_file(ctx: Ctx) -> Response:
    return _file_write(ctx, "update")


@route("DELETE", "/projects/:id/repository/files/:file_path")
def delete_file(ctx: Ctx) -> Response:
    return _file_write(ctx, "delete")
