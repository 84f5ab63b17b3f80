"""What routing asks the tenant's GitLab, always fresh and with the acting bot's token."""

from __future__ import annotations

from dataclasses import dataclass

import gitlab
import requests

from tenants.gitlab import GitLabURLError, client
from tenants.models import Bot, Tenant


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
        self._gl = client(tenant.gitlab_url, bot.reveal_secret("token"))
        self.bot = bot

    def project_visible(self, project_id: int) -> bool:
        found = _safe(lambda: self._gl.http_get(f"/projects/{int(project_id)}"), "the project")
        return found is not None

    def repo_file(self, project_id: int, path: str, ref: str) -> RepoFile:
        project = self._gl.projects.get(int(project_id), lazy=True)
        found = _safe(lambda: project.files.get(file_path=path, ref=ref), f"{path} at {ref}")
        if found is None:
            branch = _safe(lambda: project.branches.get(ref), f"branch {ref}")
            commit = branch.commit.get("id") if branch is not None else None
            return RepoFile(text=None, commit=commit)
        return RepoFile(text=found.decode().decode("utf-8", "replace"), commit=found.commit_id)
