"""Commit actions (create/update/delete/move/chmod) applied to a real repository.

Error messages are the ones ``Files::MultiService`` and ``Commits::CreateService`` give.
"""

from __future__ import annotations

import base64
import binascii

from .gitrepo import GitError, Identity, Repo

ACTIONS = ("create", "update", "delete", "move", "chmod")


def _content(action: dict) -> bytes:
    content = action.get("content")
    if content is None:
        return b""
    if action.get("encoding") == "base64":
        try:
            return base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise GitError("Invalid base64 content") from None
    return content.encode() if isinstance(content, str) else bytes(content)


def apply_actions(
    repo: Repo, parent: str | None, actions: list[dict]
) -> dict[str, tuple[str, str]]:
    """The file map after ``actions`` on top of ``parent``; raises GitError with GitLab's text."""
    files = repo.tree_files(parent)
    for action in actions:
        kind = action.get("action")
        path = (action.get("file_path") or "").strip("/")
        if not path:
            raise GitError("You must provide a file path")
        last_commit_id = action.get("last_commit_id")
        if last_commit_id and kind in ("update", "delete", "move") and parent:
            check_path = action.get("previous_path") if kind == "move" else path
            current = repo.last_commit_for_path(parent, check_path or path)
            if check_path in files and current != last_commit_id:
                raise GitError(f"The file has changed since you started editing it: {check_path}")
        if kind == "create":
            if path in files:
                raise GitError("A file with this name already exists")
            mode = "100755" if action.get("execute_filemode") else "100644"
            files[path] = (mode, repo.hash_blob(_content(action)))
        elif kind == "update":
            if path not in files:
                raise GitError("A file with this name doesn't exist")
            mode = files[path][0]
            if action.get("execute_filemode") is not None:
                mode = "100755" if action.get("execute_filemode") else "100644"
            files[path] = (mode, repo.hash_blob(_content(action)))
        elif kind == "delete":
            if path not in files:
                raise GitError("A file with this name doesn't exist")
            del files[path]
        elif kind == "move":
            previous = (action.get("previous_path") or "").strip("/")
            if not previous or previous not in files:
                raise GitError("A file with this name doesn't exist")
            if path in files and path != previous:
                raise GitError("A file with this name already exists")
            mode, oid = files.pop(previous)
            if action.get("content") is not None:
                oid = repo.hash_blob(_content(action))
            files[path] = (mode, oid)
        elif kind == "chmod":
            if path not in files:
                raise GitError("A file with this name doesn't exist")
            mode = "100755" if action.get("execute_filemode") else "100644"
            files[path] = (mode, files[path][1])
        else:
            raise GitError("Unknown action")
    return files


def commit(
    repo: Repo,
    parent: str | None,
    actions: list[dict],
    message: str,
    author: Identity,
) -> tuple[str, dict]:
    """Create a commit object (no ref update). Returns (sha, stats)."""
    files = apply_actions(repo, parent, actions)
    tree = repo.write_tree(files)
    sha = repo.commit_tree(tree, [parent] if parent else [], message, author)
    stats = diff_stats(repo, parent, sha)
    return sha, stats


def diff_stats(repo: Repo, parent: str | None, sha: str) -> dict:
    if parent:
        text = repo.out("diff", "--numstat", parent, sha)
    else:
        text = repo.out("show", "--numstat", "--format=", sha)
    additions = deletions = 0
    for line in text.splitlines():
        added, deleted, _ = line.split("\t", 2)
        additions += int(added) if added.isdigit() else 0
        deletions += int(deleted) if deleted.isdigit() else 0
    return {"additions": additions, "deletions": deletions, "total": additions + deletions}
