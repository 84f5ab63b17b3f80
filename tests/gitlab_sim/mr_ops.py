"""Creating and merging merge requests, with GitLab's refusals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import errors
from .gitrepo import GitError
from .models import MergeRequest, Project, User
from .operations import add_note

if TYPE_CHECKING:
    from .sim import GitLabSim


def create_merge_request(
    sim: GitLabSim,
    project: Project,
    author: User,
    source_branch: str,
    target_branch: str,
    title: str,
    *,
    source_project: Project | None = None,
    description: str = "",
    assignee_ids: list[int] | None = None,
    reviewer_ids: list[int] | None = None,
    labels: list[str] | None = None,
    squash: bool = False,
    remove_source_branch: bool = False,
) -> MergeRequest:
    """MergeRequests::CreateService with BuildService's branch checks."""
    state = sim.state
    source_project = source_project or project
    if source_project.id == project.id and source_branch == target_branch:
        raise errors.render_error(["You can't use same project/branch for source and target"], 422)
    if sim.repo(source_project).branch_sha(source_branch) is None:
        raise errors.render_error([f'Source branch "{source_branch}" does not exist'], 422)
    if sim.repo(project).branch_sha(target_branch) is None:
        raise errors.render_error([f'Target branch "{target_branch}" does not exist'], 422)
    for other in project.merge_requests.values():
        if (
            other.state == "opened"
            and other.source_project_id == source_project.id
            and other.source_branch == source_branch
            and other.target_branch == target_branch
        ):
            raise errors.render_error(
                [f"Another open merge request already exists for this source branch: !{other.iid}"],
                409,
            )
    now = state.now()
    mr = MergeRequest(
        id=state.next_id("merge_request"),
        iid=project.next_mr_iid,
        project_id=project.id,
        source_project_id=source_project.id,
        source_branch=source_branch,
        target_branch=target_branch,
        title=title,
        description=description or "",
        author_id=author.id,
        created_at=now,
        updated_at=now,
        assignee_ids=list(dict.fromkeys(assignee_ids or [])),
        reviewer_ids=list(dict.fromkeys(reviewer_ids or [])),
        labels=list(dict.fromkeys(labels or [])),
        squash=squash,
        force_remove_source_branch=remove_source_branch,
    )
    for label in mr.labels:
        state.ensure_label(project, label)
    project.next_mr_iid += 1
    project.merge_requests[mr.iid] = mr
    sim.mr_head(project, mr)
    return mr


def merge(
    sim: GitLabSim,
    project: Project,
    mr: MergeRequest,
    user: User,
    *,
    sha: str | None = None,
    squash: bool | None = None,
    merge_commit_message: str | None = None,
    squash_commit_message: str | None = None,
    should_remove_source_branch: bool | None = None,
) -> None:
    """PUT /merge: 401 may not merge, 405 not mergeable now, 409 SHA moved, 422 merge failed."""
    state = sim.state
    if not state.can_merge(user, project, mr.target_branch):
        raise errors.unauthorized()
    status = sim.mr_status(project, mr)
    if status["detailed_merge_status"] != "mergeable":  # draft, closed, CI must pass, conflict
        raise errors.not_allowed()
    head = status["head_sha"]
    if sha and sha != head:
        raise errors.render_error(f"SHA does not match HEAD of source branch: {head}", 409)
    repo = sim.repo(project)
    target = repo.branch_sha(mr.target_branch)
    tree = repo.merge_tree(target, head)
    if tree is None or sim.failing_merges.pop(project.id, False):
        raise errors.render_error("Branch cannot be merged", 422)
    who = sim.identity(user)
    squash = mr.squash if squash is None else squash
    try:
        parents = [target, head]
        if squash:
            squash_message = (squash_commit_message or mr.title).rstrip("\n") + "\n"
            mr.squash_commit_sha = repo.commit_tree(tree, [target], squash_message, who)
            parents = [target, mr.squash_commit_sha]
        message = merge_commit_message or (
            f"Merge branch '{mr.source_branch}' into '{mr.target_branch}'\n\n{mr.title}\n\n"
            f"See merge request {project.path_with_namespace}!{mr.iid}\n"
        )
        merged = repo.commit_tree(tree, parents, message, who)
        repo.update_ref(f"refs/heads/{mr.target_branch}", merged, target)
    except GitError:
        raise errors.render_error("Branch cannot be merged", 422) from None
    now = state.now()
    mr.state = "merged"
    mr.merge_commit_sha = merged
    mr.merged_head_sha = head
    mr.merged_base_sha = status["base_sha"]
    mr.merged_at = now
    mr.merged_by_id = user.id
    mr.updated_at = now
    mr.updated_by_id = user.id
    remove = (
        mr.force_remove_source_branch
        if should_remove_source_branch is None
        else should_remove_source_branch
    )
    if (
        remove
        and mr.source_project_id == project.id
        and not project.protection_for(mr.source_branch)
    ):
        repo.delete_ref(f"refs/heads/{mr.source_branch}")
    add_note(sim, project, mr, user, "merged", system=True)
