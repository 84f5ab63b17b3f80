"""Image selection (SPEC §6.4): the agent's ``image``, else the repository's devcontainer image
read at the config ref, else ``MATE_AGENT_IMAGE``. A devcontainer that needs a build is not built
(v1): the job gets a warning and the default image."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings

from jobs.models import Job

DEVCONTAINER_PATHS = (".devcontainer/devcontainer.json", ".devcontainer.json")
_BUILD_KEYS = ("build", "dockerFile", "dockerfile", "dockerComposeFile")
# A conservative image reference: registry/path:tag@digest characters only, no spaces or flags.
_IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}")

# (path, ref) -> text or None when the file does not exist; may raise for GitLab trouble.
FileReader = Callable[[str, str], str | None]


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


def select_image(job: Job, read_file: FileReader) -> ImageChoice:
    """The image for ``job``; ``read_file`` reads a repository file at a ref (bot token)."""
    agent_image = (job.snapshot.get("agent") or {}).get("image")
    if agent_image:
        return ImageChoice(agent_image, "agent")
    default = settings.MATE_AGENT_IMAGE
    ref = (job.snapshot.get("config") or {}).get("commit") or (
        job.snapshot.get("config") or {}
    ).get("ref")
    if not ref:
        return ImageChoice(default, "default")
    warnings: list[str] = []
    for path in DEVCONTAINER_PATHS:
        try:
            text = read_file(path, ref)
        except Exception as exc:  # GitLab trouble must not stop the job: default image
            warnings.append(f"could not read {path} ({exc}); using the default image")
            return ImageChoice(default, "default", warnings)
        if text is None:
            continue
        image, warning = devcontainer_image(text, path)
        if image:
            return ImageChoice(image, "devcontainer")
        if warning:
            warnings.append(warning)
        return ImageChoice(default, "default", warnings)
    return ImageChoice(default, "default", warnings)


def bot_file_reader(job: Job) -> FileReader:
    """Reads files of the job's project with the job's bot (routing's BotReader): the text
    only, so a missing file costs one request (no branch lookup for a commit)."""
    from jobs.routing.gitlab_reads import BotReader
    from tenants.models import Bot

    bot = Bot.objects.for_tenant(job.tenant).get(username=job.bot_username)
    reader = BotReader(job.tenant, bot)
    return lambda path, ref: reader.file_text(job.project_id, path, ref)
