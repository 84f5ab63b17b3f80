"""Webhook bodies, field by field as GitLab's webhook_events documentation shows them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .entities import avatar
from .models import VISIBILITY_LEVELS, Issue, Label, MergeRequest, Note, Project, User
from .operations import STATE_IDS, Snapshot

if TYPE_CHECKING:
    from .sim import GitLabSim


def hts(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def user_attrs(user: User) -> dict:
    """User#hook_attrs."""
    return {
        "id": user.id,
        "name": user.name,
        "username": user.username,
        "avatar_url": avatar(user),
        "email": user.public_email or "[REDACTED]",
    }


def project_attrs(sim: GitLabSim, project: Project, backward: bool = True) -> dict:
    """Project#hook_attrs; `backward=False` (Pipeline Hooks) leaves out homepage, url, ssh_url
    and http_url."""
    web = f"{sim.url}/{project.path_with_namespace}"
    ssh = f"git@{sim.host}:{project.path_with_namespace}.git"
    attrs = {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "web_url": web,
        "avatar_url": None,
        "git_ssh_url": ssh,
        "git_http_url": f"{web}.git",
        "namespace": project.namespace_path.rsplit("/", 1)[-1],
        "visibility_level": VISIBILITY_LEVELS[project.visibility],
        "path_with_namespace": project.path_with_namespace,
        "default_branch": project.default_branch,
        "ci_config_path": project.ci_config_path,
    }
    if backward:
        attrs.update(homepage=web, url=ssh, ssh_url=ssh, http_url=f"{web}.git")
    return attrs


def repository_attrs(sim: GitLabSim, project: Project) -> dict:
    web = f"{sim.url}/{project.path_with_namespace}"
    return {
        "name": project.name,
        "url": f"git@{sim.host}:{project.path_with_namespace}.git",
        "description": project.description,
        "homepage": web,
    }


def label_attrs(label: Label) -> dict:
    return {
        "id": label.id,
        "title": label.title,
        "color": label.color,
        "project_id": label.project_id,
        "created_at": hts(label.created_at),
        "updated_at": hts(label.created_at),
        "template": False,
        "description": label.description,
        "type": "ProjectLabel",
        "group_id": None,
    }


def labels_attrs(sim: GitLabSim, project: Project, titles: list[str]) -> list[dict]:
    return [label_attrs(sim.state.ensure_label(project, t)) for t in titles]


def issue_attrs(sim: GitLabSim, project: Project, issue: Issue, action: str | None = None) -> dict:
    data = {
        "author_id": issue.author_id,
        "closed_at": hts(issue.closed_at),
        "confidential": issue.confidential,
        "created_at": hts(issue.created_at),
        "description": issue.description,
        "discussion_locked": None,
        "due_date": None,
        "id": issue.id,
        "iid": issue.iid,
        "last_edited_at": None,
        "last_edited_by_id": None,
        "milestone_id": None,
        "moved_to_id": None,
        "duplicated_to_id": None,
        "project_id": project.id,
        "relative_position": None,
        "state_id": STATE_IDS[issue.state],
        "time_estimate": 0,
        "title": issue.title,
        "updated_at": hts(issue.updated_at),
        "updated_by_id": issue.updated_by_id,
        "type": "Issue",
        "url": f"{sim.url}/{project.path_with_namespace}/-/issues/{issue.iid}",
        "total_time_spent": 0,
        "time_change": 0,
        "human_total_time_spent": None,
        "human_time_change": None,
        "human_time_estimate": None,
        "assignee_ids": list(issue.assignee_ids),
        "assignee_id": issue.assignee_ids[0] if issue.assignee_ids else None,
        "labels": labels_attrs(sim, project, issue.labels),
        "state": issue.state,
        "severity": "unknown",
        "customer_relations_contacts": [],
    }
    if action:
        data["action"] = action
    return data


def last_commit_attrs(sim: GitLabSim, project: Project, sha: str | None) -> dict | None:
    if not sha:
        return None
    info = sim.repo(project).commit_info(sha)
    return {
        "id": info["id"],
        "message": info["message"],
        "title": info["title"],
        "timestamp": info["committed_date"],
        "url": f"{sim.url}/{project.path_with_namespace}/-/commit/{info['id']}",
        "author": {"name": info["author_name"], "email": info["author_email"]},
    }


def mr_attrs(sim: GitLabSim, project: Project, mr: MergeRequest, action: str | None = None) -> dict:
    status = sim.mr_status(project, mr)
    source = sim.state.projects[mr.source_project_id]
    data = {
        "assignee_id": mr.assignee_ids[0] if mr.assignee_ids else None,
        "author_id": mr.author_id,
        "created_at": hts(mr.created_at),
        "description": mr.description,
        "draft": mr.draft,
        "head_pipeline_id": mr.head_pipeline_id,
        "id": mr.id,
        "iid": mr.iid,
        "last_edited_at": None,
        "last_edited_by_id": None,
        "merge_commit_sha": mr.merge_commit_sha,
        "merge_error": None,
        "merge_params": {
            "force_remove_source_branch": "1" if mr.force_remove_source_branch else "0"
        },
        "merge_status": status["merge_status"],
        "merge_user_id": None,
        "merge_when_pipeline_succeeds": False,
        "milestone_id": None,
        "source_branch": mr.source_branch,
        "source_project_id": mr.source_project_id,
        "state_id": STATE_IDS[mr.state],
        "target_branch": mr.target_branch,
        "target_project_id": mr.project_id,
        "time_estimate": 0,
        "title": mr.title,
        "updated_at": hts(mr.updated_at),
        "updated_by_id": mr.updated_by_id,
        "prepared_at": hts(mr.created_at),
        "assignee_ids": list(mr.assignee_ids),
        "blocking_discussions_resolved": True,
        "detailed_merge_status": status["detailed_merge_status"],
        "first_contribution": False,
        "human_time_change": None,
        "human_time_estimate": None,
        "human_total_time_spent": None,
        "labels": labels_attrs(sim, project, mr.labels),
        "last_commit": last_commit_attrs(
            sim, source if mr.state == "opened" else project, status["head_sha"]
        ),
        "reviewer_ids": list(mr.reviewer_ids),
        "source": project_attrs(sim, source),
        "state": mr.state,
        "system": False,
        "target": project_attrs(sim, project),
        "time_change": 0,
        "total_time_spent": 0,
        "url": f"{sim.url}/{project.path_with_namespace}/-/merge_requests/{mr.iid}",
        "work_in_progress": mr.draft,
        "approval_rules": [],
    }
    if action:
        data["action"] = action
    return data


def changes(
    sim: GitLabSim,
    project: Project,
    before: Snapshot | None,
    obj: Issue | MergeRequest,
    action: str,
) -> dict:
    """``changes`` as Issuable#to_hook_data builds it (previous_changes + associations)."""
    if before is None:  # creation: the attributes saved, from nothing
        created = {
            "author_id": obj.author_id,
            "created_at": hts(obj.created_at),
            "description": obj.description,
            "id": obj.id,
            "iid": obj.iid,
            "title": obj.title,
            "updated_at": hts(obj.updated_at),
        }
        if isinstance(obj, MergeRequest):
            created.update(
                {
                    "source_branch": obj.source_branch,
                    "source_project_id": obj.source_project_id,
                    "target_branch": obj.target_branch,
                    "target_project_id": obj.project_id,
                    "draft": obj.draft,
                }
            )
        else:
            created["project_id"] = obj.project_id
        return {key: {"previous": None, "current": value} for key, value in created.items()}
    result: dict = {}
    if before.title != obj.title:
        result["title"] = {"previous": before.title, "current": obj.title}
    if before.description != obj.description:
        result["description"] = {"previous": before.description, "current": obj.description}
    if isinstance(obj, MergeRequest) and before.draft != obj.draft:
        result["draft"] = {"previous": before.draft, "current": obj.draft}
    if before.state != obj.state:
        result["state_id"] = {"previous": STATE_IDS[before.state], "current": STATE_IDS[obj.state]}
    if before.assignee_ids != obj.assignee_ids:
        users = sim.state.users
        result["assignees"] = {
            "previous": [user_attrs(users[i]) for i in before.assignee_ids],
            "current": [user_attrs(users[i]) for i in obj.assignee_ids],
        }
    if before.labels != obj.labels:
        result["labels"] = {
            "previous": labels_attrs(sim, project, before.labels),
            "current": labels_attrs(sim, project, obj.labels),
        }
    if before.updated_at != obj.updated_at:
        result["updated_at"] = {"previous": hts(before.updated_at), "current": hts(obj.updated_at)}
    if before.updated_by_id != obj.updated_by_id:
        result["updated_by_id"] = {"previous": before.updated_by_id, "current": obj.updated_by_id}
    return result


def issuable_payload(
    sim: GitLabSim,
    project: Project,
    obj: Issue | MergeRequest,
    user: User,
    action: str,
    before: Snapshot | None,
) -> dict:
    is_issue = isinstance(obj, Issue)
    kind = "issue" if is_issue else "merge_request"
    event_type = "confidential_issue" if is_issue and obj.confidential else kind
    attrs = (
        issue_attrs(sim, project, obj, action) if is_issue else mr_attrs(sim, project, obj, action)
    )
    payload = {
        "object_kind": kind,
        "event_type": event_type,
        "user": user_attrs(user),
        "project": project_attrs(sim, project),
        "object_attributes": attrs,
        "labels": attrs["labels"],
        "changes": changes(sim, project, before, obj, action),
        "repository": repository_attrs(sim, project),
    }
    users = sim.state.users
    if obj.assignee_ids:  # GitLab leaves the key out when nobody is assigned
        payload["assignees"] = [user_attrs(users[i]) for i in obj.assignee_ids]
    if not is_issue and obj.reviewer_ids:
        payload["reviewers"] = [user_attrs(users[i]) for i in obj.reviewer_ids]
    return payload


def note_payload(sim: GitLabSim, project: Project, obj: Issue | MergeRequest, note: Note) -> dict:
    is_issue = isinstance(obj, Issue)
    path = "issues" if is_issue else "merge_requests"
    confidential = note.internal or (is_issue and obj.confidential)
    attrs = {
        "attachment": None,
        "author_id": note.author_id,
        "change_position": None,
        "commit_id": None,
        "created_at": hts(note.created_at),
        "discussion_id": f"{note.id:040x}",
        "id": note.id,
        "line_code": None,
        "note": note.body,
        "noteable_id": obj.id,
        "noteable_type": note.noteable_type,
        "original_position": None,
        "position": None,
        "project_id": project.id,
        "resolved_at": None,
        "resolved_by_id": None,
        "resolved_by_push": None,
        "st_diff": None,
        "system": note.system,
        "type": None,
        "updated_at": hts(note.updated_at),
        "updated_by_id": None,
        "description": note.body,
        "url": f"{sim.url}/{project.path_with_namespace}/-/{path}/{obj.iid}#note_{note.id}",
        "action": "create",
        "internal": note.internal,
        "confidential": confidential,
    }
    payload = {
        "object_kind": "note",
        "event_type": "confidential_note" if confidential else "note",
        "user": user_attrs(sim.state.users[note.author_id]),
        "project_id": project.id,
        "project": project_attrs(sim, project),
        "object_attributes": attrs,
        "repository": repository_attrs(sim, project),
    }
    if is_issue:
        payload["issue"] = issue_attrs(sim, project, obj)
    else:
        payload["merge_request"] = mr_attrs(sim, project, obj)
    return payload
