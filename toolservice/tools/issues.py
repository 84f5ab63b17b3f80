"""Issues of the job's project: read one, read its discussion, post a note."""

from __future__ import annotations

from typing import Any

from toolservice import scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import IID, cut, note_dict, pick, schema, username, with_description

MAX_NOTES = 100
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
    """Up to MAX_NOTES notes, oldest first (one page)."""
    notes = manager.list(sort="asc", order_by="created_at", per_page=MAX_NOTES, get_all=False)
    return {"notes": [note_dict(n.attributes) for n in notes], "limit": MAX_NOTES}


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
