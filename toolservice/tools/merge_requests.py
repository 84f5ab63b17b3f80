"""Merge requests of the job's project: read, diff, discussion, note, open, merge.

There is no approve tool, on purpose: approval is always a human action (SPEC §4.7, T11).
"""

from __future__ import annotations

from typing import Any

from toolservice import provenance, scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import (
    BRANCH,
    IID,
    cut,
    pick,
    reads,
    schema,
    username,
    with_description,
)
from toolservice.tools.issues import NOTE_BODY, list_notes

MAX_DESCRIPTION_RETURNED = 50_000
DIFF_MAX_CHARS = 200_000
# GitLab caps one file's diff (diff_max_patch_bytes, 200 KiB by default, 500 KiB at most), so
# a page of 10 files stays within a few MiB; past the cap or 30 pages no page is fetched.
DIFF_PAGE = 10
DIFF_MAX_PAGES = 30

MR_IID = with_description(IID, "Merge request iid in the job's project; defaults to the job's MR.")


def mr_dict(attrs: dict[str, Any]) -> dict[str, Any]:
    description, truncated = cut(attrs.get("description"), MAX_DESCRIPTION_RETURNED)
    pipeline = attrs.get("head_pipeline") or attrs.get("pipeline") or None
    return {
        **pick(attrs, "iid", "title", "state", "draft", "source_branch", "target_branch"),
        "description": description,
        "description_truncated": truncated,
        "author": username(attrs.get("author")),
        "assignees": [username(a) for a in attrs.get("assignees") or []],
        "reviewers": [username(a) for a in attrs.get("reviewers") or []],
        "from_fork": attrs.get("source_project_id") != attrs.get("target_project_id"),
        **pick(attrs, "labels", "sha", "merge_commit_sha", "has_conflicts"),
        **pick(attrs, "detailed_merge_status", "web_url", "created_at", "updated_at"),
        "head_pipeline": pick(pipeline, "id", "status", "ref") if pipeline else None,
    }


@tool(
    "get_merge_request",
    authority="read",
    description="Read a merge request of the job's project: branches, state, people, pipeline.",
    schema=schema({"iid": MR_IID}),
)
def get_merge_request(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "merge_request", args.get("iid"))
    return mr_dict(ctx.project.mergerequests.get(iid).attributes)


def _file_entry(item: dict[str, Any]) -> dict[str, Any]:
    return pick(item, "old_path", "new_path", "new_file", "renamed_file", "deleted_file")


@tool(
    "get_merge_request_diff",
    authority="read",
    description=(
        "Read the changes of a merge request as unified diffs per file. The total diff text is "
        f"capped at {DIFF_MAX_CHARS} characters; files of the last page read beyond the cap are "
        "listed without diff, and `truncated` says the MR has more changes than shown."
    ),
    schema=schema({"iid": MR_IID}),
)
def get_merge_request_diff(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "merge_request", args.get("iid"))
    path = f"/projects/{int(ctx.job.project_id)}/merge_requests/{iid}/diffs"

    def fetch(page: int, per_page: int) -> list[dict[str, Any]]:
        return ctx.gl.http_list(path, page=page, per_page=per_page, get_all=False)

    files: list[dict[str, Any]] = []
    omitted: list[dict[str, Any]] = []
    used = 0
    listing = reads.Pages(fetch, per_page=DIFF_PAGE, max_pages=DIFF_MAX_PAGES)
    for page in listing:
        for item in page:
            diff = item.get("diff") or ""
            if omitted or used + len(diff) > DIFF_MAX_CHARS:
                omitted.append(_file_entry(item))
                continue
            used += len(diff)
            files.append({**_file_entry(item), "diff": diff})
        if omitted:
            break  # the cap is reached: no further page is fetched
    truncated = bool(omitted) or listing.capped
    return {"iid": iid, "files": files, "omitted_files": omitted, "truncated": truncated}


@tool(
    "list_merge_request_notes",
    authority="read",
    description="Read the discussion of a merge request of the job's project (oldest first).",
    schema=schema({"iid": MR_IID}),
)
def list_merge_request_notes(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "merge_request", args.get("iid"))
    return list_notes(ctx.project.mergerequests.get(iid, lazy=True).notes)


@tool(
    "create_merge_request_note",
    authority="comment",
    description="Post a comment (note) on a merge request of the job's project.",
    schema=schema({"iid": MR_IID, "body": NOTE_BODY}, required=("body",)),
    read_only=False,
)
def create_merge_request_note(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "merge_request", args.get("iid"))
    note = ctx.project.mergerequests.get(iid, lazy=True).notes.create({"body": args["body"]})
    return {
        "id": note.id,
        "merge_request_iid": iid,
        "created_at": note.attributes.get("created_at"),
    }


CREATE_MR_SCHEMA = schema(
    {
        "source_branch": BRANCH,
        "target_branch": with_description(BRANCH, "Defaults to the project's default branch."),
        "title": {"type": "string", "minLength": 1, "maxLength": scope.TITLE_MAX_CHARS},
        "description": {"type": "string", "maxLength": scope.DESCRIPTION_MAX_CHARS},
        "draft": {
            "type": "boolean",
            "default": True,
            "description": "Open as a draft (the default); pass false only when asked to.",
        },
        "remove_source_branch": {"type": "boolean"},
    },
    required=("source_branch", "title"),
)


def _draft_title(title: str, draft: bool) -> str:
    marked = title.lower().startswith(("draft:", "[draft]", "(draft)"))
    return f"Draft: {title}" if draft and not marked else title


@tool(
    "create_merge_request",
    authority="open_mr",
    description="Open a merge request from a branch this job created (or its merge request's "
    "source branch) into the default branch, a protected branch or a branch this job created "
    "(draft unless asked otherwise).",
    schema=CREATE_MR_SCHEMA,
    read_only=False,
)
def create_merge_request(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    target = args.get("target_branch") or scope.default_branch(ctx) or ""
    provenance.check_new_merge_request(ctx, args["source_branch"], target)
    data = {
        "source_branch": args["source_branch"],
        "target_branch": target,
        "title": _draft_title(args["title"], args.get("draft", True)),
        "description": args.get("description", ""),
    }
    if "remove_source_branch" in args:
        data["remove_source_branch"] = args["remove_source_branch"]
    mr = ctx.project.mergerequests.create(data)
    provenance.record_merge_request(ctx, int(mr.iid))
    return mr_dict(mr.attributes)


MERGE_SCHEMA = schema(
    {
        "iid": MR_IID,
        "sha": {
            "type": "string",
            "pattern": "^[0-9a-f]{7,64}$",
            "description": "Merge only if the MR head is still this commit.",
        },
        "squash": {"type": "boolean"},
        "should_remove_source_branch": {"type": "boolean"},
        "merge_commit_message": {"type": "string", "maxLength": scope.COMMIT_MESSAGE_MAX_CHARS},
        "squash_commit_message": {"type": "string", "maxLength": scope.COMMIT_MESSAGE_MAX_CHARS},
    }
)
MERGE_OPTIONS = (
    "sha",
    "squash",
    "should_remove_source_branch",
    "merge_commit_message",
    "squash_commit_message",
)


@tool(
    "merge_merge_request",
    authority="merge",
    description="Merge the job's own merge request or one it opened. One that changes CI "
    "configuration needs touch_ci. GitLab's approval rules and pipeline requirements still "
    "apply; a merge GitLab refuses answers with category conflict and says why (not allowed "
    "to merge, not mergeable now, SHA mismatch, merge failed).",
    schema=MERGE_SCHEMA,
    read_only=False,
)
def merge_merge_request(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "merge_request", args.get("iid"))
    options = {key: args[key] for key in MERGE_OPTIONS if key in args}
    options["sha"] = provenance.check_merge(ctx, iid, args.get("sha"))
    path = f"/projects/{int(ctx.job.project_id)}/merge_requests/{iid}/merge"
    answer = ctx.gl.http_put(path, post_data=options)
    attrs = answer if isinstance(answer, dict) else {}
    return pick(attrs, "iid", "state", "merge_commit_sha", "squash_commit_sha", "web_url")
