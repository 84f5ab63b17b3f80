"""Pipeline Hook bodies, as Gitlab::DataBuilder::Pipeline (lib/gitlab/data_builder/pipeline.rb)
builds them: the project without the backward-compatible URL keys, the MR block only for merge
request pipelines and without assignees, labels or author."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .hook_payloads import hts, last_commit_attrs, project_attrs, user_attrs
from .models import Pipeline, Project, User

if TYPE_CHECKING:
    from .sim import GitLabSim


def pipeline_payload(
    sim: GitLabSim, project: Project, pipeline: Pipeline, user: User | None
) -> dict:
    stages = list(dict.fromkeys(job.stage for job in pipeline.jobs))
    duration = None
    if pipeline.started_at and pipeline.finished_at:
        duration = int((pipeline.finished_at - pipeline.started_at).total_seconds())
    mr_data = None
    if pipeline.merge_request_iid is not None:
        mr = project.merge_requests[pipeline.merge_request_iid]
        status = sim.mr_status(project, mr)
        mr_data = {
            "id": mr.id,
            "iid": mr.iid,
            "title": mr.title,
            "source_branch": mr.source_branch,
            "source_project_id": mr.source_project_id,
            "target_branch": mr.target_branch,
            "target_project_id": mr.project_id,
            "state": mr.state,
            "merge_status": status["merge_status"],
            "detailed_merge_status": status["detailed_merge_status"],
            "url": f"{sim.url}/{project.path_with_namespace}/-/merge_requests/{mr.iid}",
        }
    user_data = user_attrs(user) if user else None
    builds = [
        {
            "id": job.id,
            "stage": job.stage,
            "name": job.name,
            "status": job.status,
            "created_at": hts(job.created_at),
            "started_at": hts(job.started_at),
            "finished_at": hts(job.finished_at),
            "duration": (job.finished_at - job.started_at).total_seconds()
            if job.started_at and job.finished_at
            else None,
            "queued_duration": None,
            "failure_reason": job.failure_reason,
            "when": job.when,
            "manual": job.when == "manual",
            "allow_failure": job.allow_failure,
            "user": user_data,
            "runner": None,
            "artifacts_file": {"filename": None, "size": None},
            "environment": None,
        }
        for job in pipeline.jobs
    ]
    return {
        "object_kind": "pipeline",
        "object_attributes": {
            "id": pipeline.id,
            "iid": pipeline.iid,
            "name": pipeline.name,
            "ref": pipeline.ref,
            "tag": pipeline.tag,
            "sha": pipeline.sha,
            "before_sha": pipeline.before_sha,
            "source": pipeline.source,
            "status": pipeline.status,
            "detailed_status": pipeline.status,
            "stages": stages,
            "created_at": hts(pipeline.created_at),
            "finished_at": hts(pipeline.finished_at),
            "duration": duration,
            "queued_duration": None,
            "protected_ref": bool(project.protection_for(pipeline.ref)) and not pipeline.tag,
            "variables": [],
            "url": f"{sim.url}/{project.path_with_namespace}/-/pipelines/{pipeline.id}",
        },
        "merge_request": mr_data,
        "user": user_data,
        "project": project_attrs(sim, project, backward=False),
        "commit": last_commit_attrs(sim, project, pipeline.sha),
        "builds": builds,
    }
