"""Image selection (SPEC §6.4): the agent's ``image``, else the repository's devcontainer image
read at the project's default branch, else ``MATE_AGENT_IMAGE``. A devcontainer that needs a build
is not built (v1): the job gets a warning and the default image.

The devcontainer is never read at the job's config ref: that is the MR's source branch for MR
events, which anyone who can push a branch writes, and the image receives the job credential
(THREATS T37). The default branch is asked of GitLab at launch, not taken from the payload."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from jobs.models import Job

DEVCONTAINER_PATHS = (".devcontainer/devcontainer.json", ".devcontainer.json")
_BUILD_KEYS = ("build", "dockerFile", "dockerfile", "dockerComposeFile")
# A conservative image reference: registry/path:tag@digest characters only, no spaces or flags.
_IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")


class RepoSource(Protocol):
    """The job's project as GitLab answers it; either method may raise for GitLab trouble."""

    def default_branch(self) -> str | None:
        """The project's default branch now, None for an empty project."""

    def file_text(self, path: str, ref: str) -> str | None:
        """The file's text at ``ref``, None when it does not exist."""


@dataclass
class ImageChoice:
    image: str
    source: str  # "agent", "devcontainer" or "default"
    warnings: list[str] = field(default_factory=list)


def strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (devcontainer.json's dialect) to plain JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = i + 1
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            out.append(text[i : end + 1])
            i = end + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
        else:
            out.append(ch)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def devcontainer_image(text: str, path: str) -> tuple[str | None, str | None]:
    """(image, None) for a usable ``image``, else (None, warning)."""
    try:
        data = json.loads(strip_jsonc(text))
    except ValueError as exc:
        return (
            None,
            f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); using the default image",
        )
    if not isinstance(data, dict):
        return None, f"{path} is not a JSON object; using the default image"
    image = data.get("image")
    if isinstance(image, str) and _IMAGE_REF.fullmatch(image.strip()):
        return image.strip(), None
    if image is not None:
        return (
            None,
            f"{path}: image {str(image)[:100]!r} is not an image reference; using the default image",
        )
    if any(key in data for key in _BUILD_KEYS):
        return None, (
            f"{path} needs a build (build/dockerFile/dockerComposeFile), which Mate does not do "
            "in v1; using the default image. Set `image` there or the agent's `image`."
        )
    return None, None


def select_image(job: Job, repo: RepoSource) -> ImageChoice:
    """The image for ``job``; ``repo`` reads the job's project (bot token)."""
    agent_image = (job.snapshot.get("agent") or {}).get("image")
    if agent_image:
        return ImageChoice(agent_image, "agent")
    default = settings.MATE_AGENT_IMAGE
    try:
        image, warning = _devcontainer(repo)
    except Exception as exc:  # GitLab trouble must not stop the job: default image
        return ImageChoice(
            default,
            "default",
            [f"could not read the devcontainer ({exc}); using the default image"],
        )
    if image:
        return ImageChoice(image, "devcontainer")
    return ImageChoice(default, "default", [warning] if warning else [])


def _devcontainer(repo: RepoSource) -> tuple[str | None, str | None]:
    """The first devcontainer file's verdict at the default branch; (None, None) when none."""
    branch = repo.default_branch()
    if not branch:
        return None, None
    for path in DEVCONTAINER_PATHS:
        text = repo.file_text(path, branch)
        if text is not None:
            return devcontainer_image(text, path)
    return None, None


class BotRepo:
    """The job's project read with the job's bot (routing's BotReader): text only, so a
    missing file costs one request (no branch lookup for a commit)."""

    def __init__(self, job: Job) -> None:
        from jobs.routing.gitlab_reads import BotReader
        from tenants.models import Bot

        bot = Bot.objects.for_tenant(job.tenant).get(username=job.bot_username)
        self._reader = BotReader(job.tenant, bot)
        self._project_id = job.project_id

    def default_branch(self) -> str | None:
        return self._reader.default_branch(self._project_id)

    def file_text(self, path: str, ref: str) -> str | None:
        return self._reader.file_text(self._project_id, path, ref)


class Unreadable:
    """A project that cannot be read at all (no bot, bad GitLab URL): every read raises."""

    def __init__(self, exc: Exception) -> None:
        self._exc = exc

    def default_branch(self) -> str | None:
        raise self._exc

    def file_text(self, path: str, ref: str) -> str | None:
        raise self._exc
