"""Pipelines of the job's project: a pipeline with its jobs, and the tail of a CI job's log."""

from __future__ import annotations

from typing import Any

from mate.redaction import redact
from toolservice import scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import GLOBAL_ID, pick, reads, schema, with_description

MAX_JOBS = 200
JOBS_PAGE = 100
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

    def fetch(page: int, per_page: int) -> list[Any]:
        return pipeline.jobs.list(page=page, per_page=per_page, get_all=False)

    listed: list[dict[str, Any]] = []
    for jobs in reads.Pages(fetch, per_page=JOBS_PAGE, max_pages=MAX_JOBS // JOBS_PAGE):
        listed += [
            pick(j.attributes, "id", "name", "stage", "status", "failure_reason", "allow_failure")
            | {"web_url": j.attributes.get("web_url")}
            for j in jobs
        ]
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
    wanted = args.get("tail_lines", LOG_TAIL_DEFAULT)
    # The trace is streamed; only its last bytes are kept, enough for LOG_MAX_CHARS characters
    # of UTF-8 (a 100 MB log costs the web worker no more than a short one).
    tail = reads.Tail(LOG_MAX_CHARS * 4 + 4)
    for chunk in reads.stream(ctx, f"{ctx.project.jobs.path}/{int(job_id)}/trace"):
        tail.feed(chunk)
    lines = tail.text().split("\n")
    if tail.ends_with_newline:
        lines.pop()
    text = "\n".join(line.removesuffix("\r") for line in lines[-wanted:])
    truncated = tail.lines > wanted or len(text) > LOG_MAX_CHARS
    return {
        "job_id": job_id,
        "log": redact(text[-LOG_MAX_CHARS:]),
        "lines": min(wanted, tail.lines),
        "truncated": truncated,
    }
