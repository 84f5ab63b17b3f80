"""What routing asks the tenant's GitLab, always fresh and with the acting bot's token: the
project, ``.mate.yml``, and what a job would act on (SPEC §5.3 steps 3a and 4a): the issue or
MR, the note, the pipeline, the actor's membership. A 404 reads as None (GitLab says there is
no such thing, or not for this bot); any other failure is a ``GitLabReadError``."""

from __future__ import annotations

import re
from dataclasses import dataclass

import gitlab
import requests

from tenants.gitlab import GitLabURLError, bot_client
from tenants.models import Bot, Tenant

# A full commit id (SHA-1 or SHA-256). GitLab refuses branch names of 40 hex digits, so a ref of
# this shape names a commit and there is no branch to look up.
_COMMIT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def is_commit_id(ref: str) -> bool:
    return _COMMIT_ID.fullmatch(ref) is not None


class GitLabReadError(Exception):
    """GitLab could not be asked; the message is safe for the delivery log (no token, no body)."""


@dataclass(frozen=True)
class RepoFile:
    text: str | None  # None: the file does not exist at that ref
    commit: str | None


def _safe(call, what: str):
    try:
        return call()
    except GitLabURLError as exc:
        raise GitLabReadError(str(exc)) from None
    except gitlab.exceptions.GitlabError as exc:
        code = getattr(exc, "response_code", None)
        if code == 404:
            return None
        raise GitLabReadError(
            f"GitLab answered {code or 'an error'} while reading {what}"
        ) from None
    except requests.RequestException as exc:
        raise GitLabReadError(
            f"GitLab unreachable while reading {what} ({type(exc).__name__})"
        ) from None


class BotReader:
    """Reads one project as one bot; the bot token never leaves this object."""

    def __init__(self, tenant: Tenant, bot: Bot) -> None:
        # The bot's PAT, only to the URL it was registered on; a refusal is a GitLabReadError.
        self._gl = _safe(lambda: bot_client(bot), "the bot's GitLab")
        self.bot = bot

    def project_visible(self, project_id: int) -> bool:
        found = _safe(lambda: self._gl.http_get(f"/projects/{int(project_id)}"), "the project")
        return found is not None

    def _get(self, path: str, what: str) -> dict | None:
        found = _safe(lambda: self._gl.http_get(path), what)
        return found if isinstance(found, dict) else None

    def issuable(self, project_id: int, kind: str, iid: int) -> dict | None:
        """The issue or MR (``kind``: ``issue`` or ``merge_request``) as GitLab shows it now:
        assignees and author with usernames, labels, state, branches."""
        plural = "issues" if kind == "issue" else "merge_requests"
        what = f"{kind.replace('_', ' ')} {int(iid)}"
        return self._get(f"/projects/{int(project_id)}/{plural}/{int(iid)}", what)

    def note(self, project_id: int, kind: str, iid: int, note_id: int) -> dict | None:
        """The note, read through the issue or MR it must belong to (another one's note: None)."""
        plural = "issues" if kind == "issue" else "merge_requests"
        path = f"/projects/{int(project_id)}/{plural}/{int(iid)}/notes/{int(note_id)}"
        return self._get(path, f"note {int(note_id)}")

    def pipeline(self, project_id: int, pipeline_id: int) -> dict | None:
        path = f"/projects/{int(project_id)}/pipelines/{int(pipeline_id)}"
        return self._get(path, f"pipeline {int(pipeline_id)}")

    def member(self, project_id: int, user_id: int) -> dict | None:
        """The user's membership of the project, inherited ones included (None: none)."""
        path = f"/projects/{int(project_id)}/members/all/{int(user_id)}"
        return self._get(path, f"the membership of user {int(user_id)}")

    def default_branch(self, project_id: int) -> str | None:
        """The project's default branch as GitLab says now; None for an empty project."""
        found = _safe(lambda: self._gl.http_get(f"/projects/{int(project_id)}"), "the project")
        branch = found.get("default_branch") if isinstance(found, dict) else None
        return branch if isinstance(branch, str) and branch else None

    def _file(self, project_id: int, path: str, ref: str):
        project = self._gl.projects.get(int(project_id), lazy=True)
        found = _safe(lambda: project.files.get(file_path=path, ref=ref), f"{path} at {ref}")
        return project, found

    def repo_file(self, project_id: int, path: str, ref: str) -> RepoFile:
        """The file at ``ref`` and the commit it was read at. When the file is missing, the
        commit is the ref itself if that is a commit id, else the branch's head (one more
        request, so that the job records which commit its config came from)."""
        project, found = self._file(project_id, path, ref)
        if found is None:
            if is_commit_id(ref):
                return RepoFile(text=None, commit=ref)
            branch = _safe(lambda: project.branches.get(ref), f"branch {ref}")
            commit = branch.commit.get("id") if branch is not None else None
            return RepoFile(text=None, commit=commit)
        return RepoFile(text=found.decode().decode("utf-8", "replace"), commit=found.commit_id)

    def file_text(self, project_id: int, path: str, ref: str) -> str | None:
        """Only the file's text at ``ref`` (None when missing): one request, no commit lookup."""
        _, found = self._file(project_id, path, ref)
        return None if found is None else found.decode().decode("utf-8", "replace")
