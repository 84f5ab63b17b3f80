"""Issues of the job's project: read one, read its discussion, post a note."""

from __future__ import annotations

from typing import Any

from toolservice import scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import IID, cut, note_dict, pick, reads, schema, username, with_description

MAX_NOTES = 100
NOTES_PAGE = 20
MAX_DESCRIPTION_RETURNED = 50_000

ISSUE_IID = with_description(IID, "Issue iid in the job's project; defaults to the job's issue.")


def issue_dict(attrs: dict[str, Any]) -> dict[str, Any]:
    description, truncated = cut(attrs.get("description"), MAX_DESCRIPTION_RETURNED)
    return {
        **pick(attrs, "iid", "title", "state", "labels", "confidential", "web_url"),
        "description": description,
        "description_truncated": truncated,
        "author": username(attrs.get("author")),
        "assignees": [username(a) for a in attrs.get("assignees") or []],
        **pick(attrs, "created_at", "updated_at", "closed_at"),
    }


def list_notes(manager) -> dict[str, Any]:
    """Up to MAX_NOTES notes, oldest first, NOTES_PAGE a request: a note may hold up to 1 MB
    (GitLab's limit), so a page of 100 could cost a web worker 100 MB."""

    def fetch(page: int, per_page: int) -> list[Any]:
        return manager.list(
            sort="asc", order_by="created_at", page=page, per_page=per_page, get_all=False
        )

    notes: list[dict[str, Any]] = []
    for page in reads.Pages(fetch, per_page=NOTES_PAGE, max_pages=MAX_NOTES // NOTES_PAGE):
        notes += [note_dict(n.attributes) for n in page]
    return {"notes": notes, "limit": MAX_NOTES}


@tool(
    "get_issue",
    authority="read",
    description="Read an issue of the job's project: title, description, state, labels, people.",
    schema=schema({"iid": ISSUE_IID}),
)
def get_issue(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "issue", args.get("iid"))
    return issue_dict(ctx.project.issues.get(iid).attributes)


@tool(
    "list_issue_notes",
    authority="read",
    description="Read the discussion of an issue of the job's project (oldest first, up to 100).",
    schema=schema({"iid": ISSUE_IID}),
)
def list_issue_notes(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "issue", args.get("iid"))
    return list_notes(ctx.project.issues.get(iid, lazy=True).notes)


NOTE_BODY = {
    "type": "string",
    "minLength": 1,
    "maxLength": scope.NOTE_MAX_CHARS,
    "description": "Markdown text of the note.",
}


@tool(
    "create_issue_note",
    authority="comment",
    description="Post a comment (note) on an issue of the job's project.",
    schema=schema({"iid": ISSUE_IID, "body": NOTE_BODY}, required=("body",)),
    read_only=False,
)
def create_issue_note(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    iid = scope.object_iid(ctx, "issue", args.get("iid"))
    note = ctx.project.issues.get(iid, lazy=True).notes.create({"body": args["body"]})
    return {"id": note.id, "issue_iid": iid, "created_at": note.attributes.get("created_at")}
