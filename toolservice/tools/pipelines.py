"""Pipelines of the job's project: a pipeline with its jobs, and the tail of a CI job's log."""

from __future__ import annotations

from typing import Any

from mate.redaction import redact
from toolservice import scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import GLOBAL_ID, pick, schema, with_description

MAX_JOBS = 200
LOG_TAIL_DEFAULT = 200
LOG_TAIL_MAX = 5_000
LOG_MAX_CHARS = 64_000


@tool(
    "get_pipeline",
    authority="read",
    description="Read a pipeline of the job's project with its CI jobs (status, stage, failure).",
    schema=schema(
        {
            "pipeline_id": with_description(
                GLOBAL_ID, "Pipeline id in the job's project; defaults to the job's pipeline."
            )
        }
    ),
)
def get_pipeline(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    pid = scope.pipeline_id(ctx, args.get("pipeline_id"))
    pipeline = ctx.project.pipelines.get(pid)
    jobs = pipeline.jobs.list(per_page=100, iterator=True)
    listed: list[dict[str, Any]] = []
    for job in jobs:
        if len(listed) >= MAX_JOBS:
            break
        attrs = job.attributes
        listed.append(
            pick(attrs, "id", "name", "stage", "status", "failure_reason", "allow_failure")
            | {"web_url": attrs.get("web_url")}
        )
    attrs = pipeline.attributes
    return {
        **pick(attrs, "id", "iid", "ref", "sha", "status", "source", "web_url"),
        **pick(attrs, "created_at", "started_at", "finished_at"),
        "jobs": listed,
    }


@tool(
    "get_job_log",
    authority="read",
    description=(
        "Read the last lines of a CI job's log in the job's project (default "
        f"{LOG_TAIL_DEFAULT} lines, at most {LOG_TAIL_MAX}; at most {LOG_MAX_CHARS} characters)."
    ),
    schema=schema(
        {
            "job_id": with_description(GLOBAL_ID, "CI job id (from get_pipeline)."),
            "tail_lines": {"type": "integer", "minimum": 1, "maximum": LOG_TAIL_MAX},
        },
        required=("job_id",),
    ),
)
def get_job_log(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    job_id = args["job_id"]
    raw = ctx.project.jobs.get(job_id, lazy=True).trace()
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
    lines = text.splitlines()
    wanted = args.get("tail_lines", LOG_TAIL_DEFAULT)
    tail = "\n".join(lines[-wanted:])
    truncated = len(lines) > wanted or len(tail) > LOG_MAX_CHARS
    tail = tail[-LOG_MAX_CHARS:]
    return {
        "job_id": job_id,
        "log": redact(tail),
        "lines": min(wanted, len(lines)),
        "truncated": truncated,
    }
