"""Where a job's writes may come from, and what it may merge (SPEC §7.3 "No side doors"; T33).

- ``create_branch`` starts only from a branch or tag of the project, or from a commit one of its
  branches contains: never from ``refs/merge-requests/*``, ``refs/pipelines/*``, keep-around or
  any other hidden ref, through which a fork's commits are reachable in the project without a
  human's review. The start is resolved to a commit here and the branch is created from that
  commit, so GitLab never resolves the agent's text itself.
- A job's branches and merge requests are recorded in ``CreatedByJob``, the one place:
  ``create_merge_request`` opens MRs only from them or from the job MR's source branch, into
  the default branch, a protected branch or one of them; ``merge_merge_request`` merges only
  the job's own MR or one it opened, and one whose changes touch CI needs ``touch_ci``.
"""

from __future__ import annotations

import re

import gitlab

from toolservice import errors, scope
from toolservice.models import CreatedByJob
from toolservice.registry import ToolContext

SHA = re.compile(r"\A[0-9a-fA-F]{7,64}\Z")
DIFF_PAGE = 20
DIFF_MAX_PAGES = 500  # 10,000 files; an MR beyond it cannot be checked and is not merged
START_RULE = (
    "a branch starts only from a branch or tag of the project, or a commit one of its "
    "branches contains"
)


# -- where a branch starts ------------------------------------------------------------------
def _get(manager, key: str):
    """``manager.get(key)``, or None when GitLab answers 404."""
    try:
        return manager.get(key)
    except gitlab.exceptions.GitlabGetError as exc:
        if exc.response_code == 404:
            return None
        raise


def branch_commit(ctx: ToolContext, name: str) -> str | None:
    """The head commit of the project's branch ``name``, or None if there is no such branch."""
    branch = _get(ctx.project.branches, name)
    return (branch.commit or {}).get("id") if branch is not None else None


def _tag_commit(ctx: ToolContext, name: str) -> str | None:
    tag = _get(ctx.project.tags, name)
    return (tag.commit or {}).get("id") if tag is not None else None


def _contained_commit(ctx: ToolContext, sha: str) -> str | None:
    """The full id of commit ``sha`` if one of the project's branches contains it."""
    commit = _get(ctx.project.commits, sha)
    if commit is None:
        return None
    path = f"/projects/{int(ctx.job.project_id)}/repository/commits/{commit.id}/refs"
    found = ctx.gl.http_list(path, query_data={"type": "branch"}, per_page=1, get_all=False)
    if not found:
        raise errors.denied(
            errors.PERMISSION,
            f"{START_RULE}; this commit is in none of its branches (e.g. a fork's commit)",
            f"create_branch from commit {commit.id} contained in no branch",
        )
    return commit.id


def start_commit(ctx: ToolContext, ref: str) -> str:
    """The commit a new branch may start from, for the agent's ``ref``; refused otherwise."""
    hidden = ref.startswith("refs/") and not ref.startswith(("refs/heads/", "refs/tags/"))
    if hidden or ref.upper() in ("HEAD", "FETCH_HEAD", "ORIG_HEAD", "MERGE_HEAD"):
        raise errors.denied(
            errors.PERMISSION,
            f"{START_RULE}; {ref[:100]} is not one. Start from a branch (e.g. the default branch)",
            f"create_branch from hidden ref {ref[:200]}",
        )
    found = None
    if not ref.startswith("refs/tags/"):
        found = branch_commit(ctx, ref.removeprefix("refs/heads/"))
    if found is None and not ref.startswith("refs/heads/"):
        found = _tag_commit(ctx, ref.removeprefix("refs/tags/"))
    if found is None and SHA.match(ref):
        found = _contained_commit(ctx, ref)
    if found is None:
        raise errors.ToolError(
            errors.NOT_FOUND,
            f"{START_RULE}: no branch, tag or commit of the project is called {ref[:100]}",
            reason=f"create_branch from unknown ref {ref[:200]}",
        )
    return found


def check_start_branch(ctx: ToolContext, name: str) -> None:
    """commit_files' ``start_branch`` must be a branch of the project."""
    if name.startswith("refs/") or branch_commit(ctx, name) is None:
        raise errors.denied(
            errors.NOT_FOUND,
            f"start_branch must be a branch of the project; {name[:100]} is not one",
            f"commit_files start_branch {name[:200]} is no branch",
        )


# -- what the job created -------------------------------------------------------------------
def record_branch(ctx: ToolContext, branch: str) -> None:
    CreatedByJob.objects.get_or_create(
        job=ctx.job, tenant=ctx.job.tenant, kind=CreatedByJob.Kind.BRANCH, branch=branch
    )


def record_merge_request(ctx: ToolContext, iid: int) -> None:
    CreatedByJob.objects.get_or_create(
        job=ctx.job, tenant=ctx.job.tenant, kind=CreatedByJob.Kind.MERGE_REQUEST, iid=iid
    )


def _created(ctx: ToolContext, kind: str):
    return CreatedByJob.objects.for_tenant(ctx.job.tenant).filter(job=ctx.job, kind=kind)


def created_branches(ctx: ToolContext) -> set[str]:
    return set(_created(ctx, CreatedByJob.Kind.BRANCH).values_list("branch", flat=True))


def _opened_by_job(ctx: ToolContext, iid: int) -> bool:
    return _created(ctx, CreatedByJob.Kind.MERGE_REQUEST).filter(iid=iid).exists()


def own_mr_iid(ctx: ToolContext) -> int | None:
    obj = ctx.object
    if obj.get("kind") in ("merge_request", "pipeline") and obj.get("iid"):
        return int(obj["iid"])
    return None


# -- opening a merge request ----------------------------------------------------------------
def check_new_merge_request(ctx: ToolContext, source: str, target: str) -> None:
    """Source: a branch this job created or the job MR's source branch. Target: the default
    branch, a protected branch, a branch this job created or the job MR's source branch; never
    another user's working branch."""
    mine = created_branches(ctx)
    own_source = scope.job_mr_source_branch(ctx) if own_mr_iid(ctx) else None
    if source not in mine and source != own_source:
        raise errors.denied(
            errors.PERMISSION,
            "the source branch must be a branch this job created (create_branch, or "
            "commit_files with start_branch) or its merge request's source branch",
            f"create_merge_request from {source[:200]}, not created by the job",
        )
    if target in mine or target == own_source or target == scope.default_branch(ctx):
        return
    if not scope.is_protected(ctx, target):
        raise errors.denied(
            errors.PERMISSION,
            "the target may not be another user's branch: use the default branch, a "
            "protected branch or a branch this job created",
            f"create_merge_request into {target[:200]}, another user's branch",
        )


# -- merging --------------------------------------------------------------------------------
def check_merge(ctx: ToolContext, iid: int, sha: str | None) -> str:
    """Refuse a merge the job may not make; return the head commit the merge is pinned to."""
    if iid != own_mr_iid(ctx) and not _opened_by_job(ctx, iid):
        raise errors.denied(
            errors.PERMISSION,
            "this job may merge only its own merge request or one it opened",
            f"merge of !{iid}: neither the job's merge request nor opened by it",
        )
    head = ctx.project.mergerequests.get(iid).sha
    if not head:
        raise errors.ToolError(errors.CONFLICT, "the merge request has no commits to merge")
    if sha and not head.startswith(sha.lower()):
        raise errors.ToolError(
            errors.CONFLICT,
            "the merge request's head is no longer the given sha; read it again",
            reason=f"merge of !{iid}: sha {sha} is not the head",
        )
    if "touch_ci" not in ctx.authorities:
        scope.check_ci_paths(ctx, changed_paths(ctx, iid), what="merging this merge request")
    return head


def changed_paths(ctx: ToolContext, iid: int) -> list[str]:
    """Every old and new path the merge request changes, page by page (no diff text kept)."""
    path = f"/projects/{int(ctx.job.project_id)}/merge_requests/{iid}/diffs"
    paths: list[str] = []
    for page in range(1, DIFF_MAX_PAGES + 1):
        items = ctx.gl.http_list(path, page=page, per_page=DIFF_PAGE, get_all=False)
        for item in items:
            paths += [p for p in (item.get("old_path"), item.get("new_path")) if p]
        if len(items) < DIFF_PAGE:
            return paths
    raise errors.denied(
        errors.PERMISSION,
        "the merge request changes too many files to check them for CI configuration; "
        "a human has to merge it",
        f"merge of !{iid}: more than {DIFF_PAGE * DIFF_MAX_PAGES} files",
    )
