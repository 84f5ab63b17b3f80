"""REST v4 shapes of issues, merge requests, pipelines and jobs."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .entities import commit_entity, ts, user_basic
from .models import Issue, Job, MergeRequest, Pipeline, Project

if TYPE_CHECKING:
    from .sim import GitLabSim


def _users(sim: GitLabSim, ids: list[int]) -> list[dict]:
    return [user_basic(sim, sim.state.users[i]) for i in ids]


def issue_entity(sim: GitLabSim, project: Project, issue: Issue) -> dict:
    web = f"{sim.url}/{project.path_with_namespace}/-/issues/{issue.iid}"
    api = f"{sim.url}/api/v4/projects/{project.id}"
    assignees = _users(sim, issue.assignee_ids)
    return {
        "id": issue.id,
        "iid": issue.iid,
        "project_id": project.id,
        "title": issue.title,
        "description": issue.description,
        "state": issue.state,
        "created_at": ts(issue.created_at),
        "updated_at": ts(issue.updated_at),
        "closed_at": ts(issue.closed_at),
        "closed_by": user_basic(sim, sim.state.user(issue.closed_by_id)),
        "labels": list(issue.labels),
        "milestone": None,
        "assignees": assignees,
        "author": user_basic(sim, sim.state.users[issue.author_id]),
        "type": "ISSUE",
        "assignee": assignees[0] if assignees else None,
        "user_notes_count": sum(1 for n in issue.notes if not n.system),
        "merge_requests_count": 0,
        "upvotes": 0,
        "downvotes": 0,
        "due_date": None,
        "confidential": issue.confidential,
        "discussion_locked": None,
        "issue_type": "issue",
        "web_url": web,
        "time_stats": _time_stats(),
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_tasks": False,
        "_links": {
            "self": f"{api}/issues/{issue.iid}",
            "notes": f"{api}/issues/{issue.iid}/notes",
            "award_emoji": f"{api}/issues/{issue.iid}/award_emoji",
            "project": api,
            "closed_as_duplicate_of": None,
        },
        "references": {
            "short": f"#{issue.iid}",
            "relative": f"#{issue.iid}",
            "full": f"{project.path_with_namespace}#{issue.iid}",
        },
        "severity": "UNKNOWN",
        "moved_to_id": None,
        "service_desk_reply_to": None,
    }


def _time_stats() -> dict:
    return {
        "time_estimate": 0,
        "total_time_spent": 0,
        "human_time_estimate": None,
        "human_total_time_spent": None,
    }


def mr_entity(sim: GitLabSim, project: Project, mr: MergeRequest, full: bool = True) -> dict:
    status = sim.mr_status(project, mr)
    assignees = _users(sim, mr.assignee_ids)
    data = {
        "id": mr.id,
        "iid": mr.iid,
        "project_id": project.id,
        "title": mr.title,
        "description": mr.description,
        "state": mr.state,
        "created_at": ts(mr.created_at),
        "updated_at": ts(mr.updated_at),
        "merged_by": user_basic(sim, sim.state.user(mr.merged_by_id)),
        "merge_user": user_basic(sim, sim.state.user(mr.merged_by_id)),
        "merged_at": ts(mr.merged_at),
        "closed_by": user_basic(sim, sim.state.user(mr.closed_by_id)),
        "closed_at": ts(mr.closed_at),
        "target_branch": mr.target_branch,
        "source_branch": mr.source_branch,
        "user_notes_count": sum(1 for n in mr.notes if not n.system),
        "upvotes": 0,
        "downvotes": 0,
        "author": user_basic(sim, sim.state.users[mr.author_id]),
        "assignees": assignees,
        "assignee": assignees[0] if assignees else None,
        "reviewers": _users(sim, mr.reviewer_ids),
        "source_project_id": mr.source_project_id,
        "target_project_id": mr.project_id,
        "labels": list(mr.labels),
        "draft": mr.draft,
        "work_in_progress": mr.draft,
        "milestone": None,
        "merge_when_pipeline_succeeds": False,
        "merge_status": status["merge_status"],
        "detailed_merge_status": status["detailed_merge_status"],
        "merge_after": None,
        "sha": status["head_sha"],
        "merge_commit_sha": mr.merge_commit_sha,
        "squash_commit_sha": mr.squash_commit_sha,
        "discussion_locked": None,
        "should_remove_source_branch": None,
        "force_remove_source_branch": mr.force_remove_source_branch,
        "prepared_at": ts(mr.created_at),
        "reference": f"!{mr.iid}",
        "references": {
            "short": f"!{mr.iid}",
            "relative": f"!{mr.iid}",
            "full": f"{project.path_with_namespace}!{mr.iid}",
        },
        "web_url": f"{sim.url}/{project.path_with_namespace}/-/merge_requests/{mr.iid}",
        "time_stats": _time_stats(),
        "squash": mr.squash,
        "squash_on_merge": mr.squash,
        "task_completion_status": {"count": 0, "completed_count": 0},
        "has_conflicts": status["has_conflicts"],
        "blocking_discussions_resolved": True,
    }
    if full:
        pipeline = sim.state.pipelines.get(mr.head_pipeline_id or 0)
        data.update(
            {
                "subscribed": False,
                "changes_count": str(status["changes_count"]),
                "latest_build_started_at": None,
                "latest_build_finished_at": None,
                "first_deployed_to_production_at": None,
                "pipeline": pipeline_basic(sim, pipeline) if pipeline else None,
                "head_pipeline": pipeline_entity(sim, pipeline) if pipeline else None,
                "diff_refs": {
                    "base_sha": status["base_sha"],
                    "head_sha": status["head_sha"],
                    "start_sha": status["start_sha"],
                },
                "merge_error": None,
                "first_contribution": False,
                "user": {"can_merge": False},
            }
        )
    return data


def pipeline_basic(sim: GitLabSim, pipeline: Pipeline) -> dict:
    project = sim.state.projects[pipeline.project_id]
    return {
        "id": pipeline.id,
        "iid": pipeline.iid,
        "project_id": pipeline.project_id,
        "sha": pipeline.sha,
        "ref": pipeline.ref,
        "status": pipeline.status,
        "source": pipeline.source,
        "created_at": ts(pipeline.created_at),
        "updated_at": ts(pipeline.updated_at),
        "web_url": f"{sim.url}/{project.path_with_namespace}/-/pipelines/{pipeline.id}",
    }


def _duration(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def pipeline_entity(sim: GitLabSim, pipeline: Pipeline) -> dict:
    data = pipeline_basic(sim, pipeline)
    data.update(
        {
            "before_sha": pipeline.before_sha,
            "tag": pipeline.tag,
            "yaml_errors": None,
            "user": user_basic(sim, sim.state.user(pipeline.user_id)),
            "started_at": ts(pipeline.started_at),
            "finished_at": ts(pipeline.finished_at),
            "committed_at": None,
            "duration": _duration(pipeline.started_at, pipeline.finished_at),
            "queued_duration": None,
            "coverage": None,
            "detailed_status": {
                "icon": f"status_{pipeline.status}",
                "text": pipeline.status,
                "label": pipeline.status,
                "group": pipeline.status,
                "tooltip": pipeline.status,
                "has_details": True,
                "details_path": data["web_url"].split(sim.url, 1)[1],
                "illustration": None,
                "favicon": f"/assets/ci_favicons/favicon_status_{pipeline.status}.png",
            },
            "name": pipeline.name,
        }
    )
    return data


def job_entity(sim: GitLabSim, job: Job) -> dict:
    pipeline = sim.state.pipelines[job.pipeline_id]
    project = sim.state.projects[job.project_id]
    info = sim.repo(project).commit_info(pipeline.sha)
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "name": job.name,
        "ref": pipeline.ref,
        "tag": pipeline.tag,
        "coverage": None,
        "allow_failure": job.allow_failure,
        "created_at": ts(job.created_at),
        "started_at": ts(job.started_at),
        "finished_at": ts(job.finished_at),
        "erased_at": None,
        "duration": _duration(job.started_at, job.finished_at),
        "queued_duration": None,
        "user": user_basic(sim, sim.state.user(job.user_id)),
        "commit": commit_entity(sim, project, info),
        "pipeline": {
            "id": pipeline.id,
            "iid": pipeline.iid,
            "project_id": project.id,
            "ref": pipeline.ref,
            "sha": pipeline.sha,
            "status": pipeline.status,
            "source": pipeline.source,
        },
        "failure_reason": job.failure_reason,
        "web_url": f"{sim.url}/{project.path_with_namespace}/-/jobs/{job.id}",
        "project": {"ci_job_token_scope_enabled": False},
        "artifacts": [],
        "runner": None,
        "runner_manager": None,
        "artifacts_expire_at": None,
        "archived": False,
        "tag_list": [],
    }
