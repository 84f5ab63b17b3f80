"""Repository content of the job's project: read files and trees, create branches, commit.

Writes go through the scope rules: never the default or a protected branch (T28), only the
job MR's source branch under push_mr_branch, CI configuration only with touch_ci, new branches
only from branches, tags and commits a branch contains (T33). There is no force option and no
branch deletion.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from toolservice import errors, provenance, scope
from toolservice.registry import ToolContext, tool
from toolservice.tools import BRANCH, REF, reads, schema, with_description

GET_FILE_MAX_BYTES = 1_000_000
TREE_MAX_ENTRIES = 2_000
TREE_PAGE = 100
TREE_MAX_PAGES = TREE_MAX_ENTRIES // TREE_PAGE
PATH = {"type": "string", "minLength": 1, "maxLength": 1024}
AT_REF = with_description(REF, "Branch, tag or commit; defaults to the default branch.")


def default_ref(ctx: ToolContext) -> str:
    return ctx.event.get("project_default_branch") or scope.default_branch(ctx) or "HEAD"


@tool(
    "get_file",
    authority="read",
    description=(
        "Read one file of the job's project at a ref. Text comes back as text, other content "
        f"as base64. Files over {GET_FILE_MAX_BYTES} bytes are refused (category validation)."
    ),
    schema=schema({"path": PATH, "ref": AT_REF}, required=("path",)),
)
def get_file(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    ref = args.get("ref") or default_ref(ctx)
    meta = ctx.project.files.head(args["path"], ref=ref)
    size = _size(meta.get("X-Gitlab-Size"))
    if size is not None and size > GET_FILE_MAX_BYTES:
        raise _too_large(size)
    # The commit HEAD resolved, so the bytes read are the blob that was measured.
    at = meta.get("X-Gitlab-Commit-Id") or ref
    path = f"{ctx.project.files.path}/{quote(args['path'], safe='')}/raw"
    try:
        data = reads.read_at_most(reads.stream(ctx, path, {"ref": at}), GET_FILE_MAX_BYTES)
    except reads.TooLarge as exc:
        raise _too_large(exc.args[0], at_least=True) from None
    try:
        content, encoding = data.decode("utf-8"), "text"
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(data).decode("ascii"), "base64"
    return {
        "path": meta.get("X-Gitlab-File-Path") or args["path"],
        "ref": ref,
        "size": len(data),
        "encoding": encoding,
        "content": content,
        "last_commit_id": meta.get("X-Gitlab-Last-Commit-Id"),
    }


def _size(header: str | None) -> int | None:
    try:
        return int(header) if header is not None else None
    except ValueError:
        return None


def _too_large(size: int, *, at_least: bool = False) -> errors.ToolError:
    has = f"at least {size}" if at_least else str(size)
    return errors.ToolError(
        errors.VALIDATION,
        f"the file has {has} bytes; get_file reads files of at most {GET_FILE_MAX_BYTES} "
        "bytes; read a smaller file instead",
    )


@tool(
    "list_tree",
    authority="read",
    description=f"List files and directories of the job's project at a ref (up to {TREE_MAX_ENTRIES}).",
    schema=schema(
        {
            "path": with_description(PATH, "Directory to list; defaults to the root."),
            "ref": AT_REF,
            "recursive": {"type": "boolean", "default": False},
        }
    ),
)
def list_tree(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    ref = args.get("ref") or default_ref(ctx)
    query: dict[str, Any] = {"ref": ref, "recursive": bool(args.get("recursive"))}
    if args.get("path"):
        query["path"] = args["path"]

    def fetch(page: int, per_page: int) -> list[dict[str, Any]]:
        return ctx.project.repository_tree(page=page, per_page=per_page, get_all=False, **query)

    entries: list[dict[str, Any]] = []
    listing = reads.Pages(fetch, per_page=TREE_PAGE, max_pages=TREE_MAX_PAGES)
    for items in listing:
        entries += [{"path": i["path"], "type": i["type"], "mode": i["mode"]} for i in items]
    return {"ref": ref, "entries": entries, "truncated": listing.capped}


START_REF = with_description(
    REF,
    "Branch, tag, or a commit SHA one of the project's branches contains; defaults to the "
    "default branch. Hidden refs (refs/merge-requests/..., refs/pipelines/...) are refused.",
)


@tool(
    "create_branch",
    authority="push_branch",
    description="Create a new branch of the job's project from a branch, a tag or a commit one "
    "of its branches contains (default: the default branch). Protected branch names and the "
    "default branch are refused.",
    schema=schema({"branch": BRANCH, "ref": START_REF}, required=("branch",)),
    read_only=False,
)
def create_branch(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    branch = args["branch"]
    scope.check_branch_write(ctx, branch)
    if provenance.branch_commit(ctx, branch) is not None:
        raise errors.ToolError(errors.CONFLICT, "a branch with this name already exists")
    ref = args.get("ref") or default_ref(ctx)
    start = provenance.start_commit(ctx, ref)
    created = ctx.project.branches.create({"branch": branch, "ref": start})
    provenance.record_branch(ctx, created.name)
    return {"branch": created.name, "commit": (created.commit or {}).get("id"), "ref": ref}


ACTION = schema(
    {
        "action": {"enum": ["create", "update", "delete", "move", "chmod"]},
        "file_path": PATH,
        "previous_path": with_description(PATH, "For move: the current path."),
        "content": {"type": "string", "maxLength": scope.COMMIT_FILE_MAX_BYTES * 4 // 3 + 4},
        "encoding": {"enum": ["text", "base64"], "default": "text"},
        "execute_filemode": {"type": "boolean"},
    },
    required=("action", "file_path"),
)
COMMIT_SCHEMA = schema(
    {
        "branch": BRANCH,
        "message": {"type": "string", "minLength": 1, "maxLength": scope.COMMIT_MESSAGE_MAX_CHARS},
        "actions": {
            "type": "array",
            "minItems": 1,
            "maxItems": scope.COMMIT_MAX_ACTIONS,
            "items": ACTION,
        },
        "start_branch": with_description(BRANCH, "Create `branch` from this one if it is new."),
    },
    required=("branch", "message", "actions"),
)


@tool(
    "commit_files",
    authority=("push_branch", "push_mr_branch"),
    description=(
        "Commit file actions (create, update, delete, move, chmod) to one branch of the job's "
        "project. Never the default or a protected branch; with push_mr_branch only the job's "
        "merge request source branch; CI configuration files need touch_ci."
    ),
    schema=COMMIT_SCHEMA,
    read_only=False,
)
def commit_files(ctx: ToolContext, args: dict[str, Any]) -> dict[str, Any]:
    branch, actions = args["branch"], args["actions"]
    scope.check_commit_size(actions)
    scope.check_commit_branch(ctx, branch)
    paths = [a["file_path"] for a in actions] + [
        a["previous_path"] for a in actions if a.get("previous_path")
    ]
    scope.check_ci_paths(ctx, paths)
    data: dict[str, Any] = {"branch": branch, "commit_message": args["message"], "actions": actions}
    new_branch = False
    if args.get("start_branch"):
        provenance.check_start_branch(ctx, args["start_branch"])
        new_branch = provenance.branch_commit(ctx, branch) is None
        data["start_branch"] = args["start_branch"]
    commit = ctx.project.commits.create(data)
    if new_branch:
        provenance.record_branch(ctx, branch)
    return {
        "id": commit.id,
        "short_id": commit.attributes.get("short_id"),
        "branch": branch,
        "web_url": commit.attributes.get("web_url"),
    }
