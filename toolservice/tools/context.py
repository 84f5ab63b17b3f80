"""get_job_context: what this job is about, from the frozen job record (no GitLab call)."""

from __future__ import annotations

from typing import Any

from toolservice.registry import ToolContext, allowed_tools, tool
from toolservice.tools import schema


@tool(
    "get_job_context",
    authority=None,
    description=(
        "Describe this job: the event that started it, the project, the issue, merge request "
        "or pipeline it is about, the effective authorities and the tools they unlock. "
        "Call this first."
    ),
    schema=schema({}),
)
def get_job_context(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    job, snapshot = ctx.job, ctx.snapshot
    project = snapshot.get("project") or {"id": job.project_id, "path": job.project_path}
    event = dict(ctx.event)
    project = {**project, "default_branch": event.get("project_default_branch")}
    return {
        "job": {"id": str(job.uid), "agent": job.agent, "event": job.event},
        "project": project,
        "object": ctx.object,
        "event": event,
        "authorities": sorted(ctx.authorities),
        "tools": [t.name for t in allowed_tools(job)],
    }
