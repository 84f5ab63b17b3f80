"""Scope rules of the tool service (SPEC §7.3; THREATS T9, T13, T28).

- Everything acts on the job's project; resources default to the job's own object.
- Branch writes refuse the default branch and protected branches (asked of GitLab each time,
  with the bot's token server-side where GitLab before 15.11 refuses the job's Developer key;
  refused when no answer comes); ``push_mr_branch`` writes only the job's MR source branch.
- Commits and merges touching CI configuration need ``touch_ci``; ``ci_config_files`` is the
  one reading of the project's CI config path.
- Outbound text (notes, commits, MR fields) must not carry the tenant's secrets or anything
  shaped like a token: such calls are refused as ``validation`` and audited.
- Text GitLab parses for quick actions (note bodies, MR titles and descriptions) is sent with
  every line GitLab could execute shown as inline code instead (T31); the audit row and the
  answer name the lines.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import functools
import posixpath
import re
from collections.abc import Iterator
from typing import Any

import gitlab

from jobs import credentials
from jobs.models import JobToken
from mate.redaction import TOKEN_PATTERNS, contains_secret
from tenants.models import Bot
from toolservice import errors
from toolservice.registry import ToolContext

NOTE_MAX_CHARS = 65_536
TITLE_MAX_CHARS = 255
DESCRIPTION_MAX_CHARS = 65_536
COMMIT_MESSAGE_MAX_CHARS = 10_000
COMMIT_FILE_MAX_BYTES = 1_048_576
COMMIT_TOTAL_MAX_BYTES = 2 * 1_048_576  # and the request body is capped at 2.5 MB
COMMIT_MAX_ACTIONS = 100
DEFAULT_CI_FILE = ".gitlab-ci.yml"
CI_DIRECTORY = ".gitlab/ci/"


# -- objects of the job ---------------------------------------------------------------------
def object_iid(ctx: ToolContext, kind: str, iid: int | None) -> int:
    """``iid`` if given, else the job's own issue or MR; always within the job's project."""
    if iid is not None:
        return iid
    obj = ctx.object
    own_kind = obj.get("kind")
    if obj.get("iid") and (
        own_kind == kind or (kind == "merge_request" and own_kind == "pipeline")
    ):
        return int(obj["iid"])
    label = "issue" if kind == "issue" else "merge request"
    raise errors.ToolError(errors.VALIDATION, f"iid is required: the job has no {label} of its own")


def pipeline_id(ctx: ToolContext, given: int | None) -> int:
    if given is not None:
        return given
    own = ctx.object.get("pipeline_id")
    if own:
        return int(own)
    raise errors.ToolError(errors.VALIDATION, "pipeline_id is required: the job has no pipeline")


# -- branches -------------------------------------------------------------------------------
def default_branch(ctx: ToolContext) -> str | None:
    return ctx.project_info.get("default_branch")


def _rule_names(project) -> list[str]:
    return [rule.name for rule in project.protectedbranches.list(get_all=True)]


def _rules_as_bot(ctx: ToolContext) -> list[str]:
    """The rules read with the bot's token, server-side: GitLab before 15.11 lets only
    Maintainers read them, and a pushing job's key is a Developer. A read of the job's own
    project only; the token never leaves this process."""
    gl = credentials.bot_client(ctx.job)
    gl.http_request = functools.partial(gl.http_request, obey_rate_limit=False)  # type: ignore[method-assign]
    return _rule_names(gl.projects.get(ctx.job.project_id, lazy=True))


def _protected_patterns(ctx: ToolContext) -> list[str]:
    """The project's protected branch names and wildcards; refused when none can be read."""
    try:
        return _rule_names(ctx.project)
    except Exception as exc:
        failure = errors.from_gitlab(exc).reason
        if not (isinstance(exc, gitlab.GitlabError) and exc.response_code == 403):
            raise _unconfirmed(failure) from None
        if ctx.job.uses_bot_pat:  # already the bot's answer
            raise _unconfirmed(failure) from None
    try:
        return _rules_as_bot(ctx)
    except Exception as exc:  # fail closed: no answer means no write
        reason = f"{failure} with the job's key, {errors.from_gitlab(exc).reason} as the bot"
        raise _unconfirmed(reason) from None


def _unconfirmed(reason: str) -> errors.ToolError:
    return errors.denied(
        errors.PERMISSION,
        "could not confirm the branch is unprotected; branch writes are refused",
        f"protected branch look-up failed: {reason}",
    )


def is_protected(ctx: ToolContext, branch: str) -> bool:
    for pattern in _protected_patterns(ctx):
        if branch == pattern or ("*" in pattern and fnmatch.fnmatchcase(branch, pattern)):
            return True
    return False


def check_branch_write(ctx: ToolContext, branch: str) -> None:
    """Refuse writes to the default branch and to protected branches (T28)."""
    if branch == default_branch(ctx):
        raise errors.denied(
            errors.PERMISSION,
            "writing to the default branch is not allowed; use another branch",
            f"branch write to default branch {branch}",
        )
    if is_protected(ctx, branch):
        raise errors.denied(
            errors.PERMISSION,
            "writing to a protected branch is not allowed; use another branch",
            f"branch write to protected branch {branch}",
        )


def job_mr_source_branch(ctx: ToolContext) -> str | None:
    """The source branch of the job's own MR, if it lives in the job's project."""
    obj = ctx.object
    if obj.get("kind") not in ("merge_request", "pipeline") or not obj.get("iid"):
        return None
    mr = ctx.project.mergerequests.get(int(obj["iid"]))
    if int(mr.source_project_id) != int(ctx.job.project_id):
        return None  # a fork's branch is not in the job's project
    return mr.source_branch


def check_commit_branch(ctx: ToolContext, branch: str) -> None:
    """commit_files: push_branch (any non-protected, non-default branch) or push_mr_branch
    (only the job's MR source branch); the default/protected refusal applies to both."""
    if "push_branch" not in ctx.authorities and branch != job_mr_source_branch(ctx):
        raise errors.denied(
            errors.PERMISSION,
            "this job may only commit to its merge request's source branch",
            f"push_mr_branch only: commit to {branch} is not the job MR's source branch",
        )
    check_branch_write(ctx, branch)


# -- CI configuration -----------------------------------------------------------------------
def normalize_path(path: str) -> str:
    cleaned = posixpath.normpath("/" + path.replace("\\", "/")).lstrip("/")
    return "" if cleaned == "." else cleaned


# Gitlab::Ci::ProjectConfig::ExternalProject: ``file@group/project`` and
# ``file@group/project:ref``, recognised only when ``file`` ends in yml or yaml.
EXTERNAL_PROJECT_FORM = re.compile(r"\A.+(yml|yaml)@.+\Z", re.DOTALL)
REMOTE_FORM = re.compile(r"\Ahttps?://", re.IGNORECASE)


def ci_config_files(setting: str | None, project_path: str) -> set[str]:
    """The files of the project at ``project_path`` that can be its CI configuration, read
    from its ``ci_config_path`` setting as GitLab reads it (Gitlab::Ci::ProjectConfig):

    - blank: ``.gitlab-ci.yml``;
    - the setting itself as a path of this repository: GitLab's Repository source is tried
      first with the value verbatim, so even ``x.yml@group/other`` names a local file once a
      file by that name exists;
    - ``file@group/project`` and ``file@group/project:ref``: ``file`` as well when
      group/project is this project (full paths are case-insensitive on GitLab); another
      project's file and a remote URL are not files of this project.

    ``.gitlab-ci.yml`` always counts: it is what a maintainer returns to by clearing the
    setting. Directories under ``.gitlab/ci/`` count in ``is_ci_path``.
    """
    files = {DEFAULT_CI_FILE}
    setting = (setting or "").replace("\0", "")
    if not setting or REMOTE_FORM.match(setting):
        return files
    files.add(normalize_path(setting))
    if EXTERNAL_PROJECT_FORM.match(setting):
        file, _, location = setting.partition("@")
        project = location.split(":", 1)[0].strip("/")
        if project_path and project.lower() == project_path.lower():
            files.add(normalize_path(file))
    files.discard("")
    return files


def ci_paths(ctx: ToolContext) -> set[str]:
    """This project's CI configuration files; refused when GitLab does not say its setting."""
    info = ctx.project_info
    if "ci_config_path" not in info:  # fail closed: an unknown setting could name any file
        raise errors.denied(
            errors.PERMISSION,
            "could not learn the project's CI configuration path; without touch_ci the "
            "change is refused",
            "ci_config_path missing from the project",
        )
    return ci_config_files(info.get("ci_config_path"), info.get("path_with_namespace") or "")


def is_ci_path(path: str, ci_files: set[str]) -> bool:
    path = normalize_path(path)
    return path in ci_files or path.startswith(CI_DIRECTORY) or path == CI_DIRECTORY.rstrip("/")


def check_ci_paths(ctx: ToolContext, paths: list[str], what: str = "changing these files") -> None:
    """The one CI check of commits and merges: CI configuration needs ``touch_ci``."""
    if "touch_ci" in ctx.authorities:
        return
    ci_files = ci_paths(ctx)
    touched = [p for p in paths if is_ci_path(p, ci_files)]
    if touched:
        raise errors.denied(
            errors.PERMISSION,
            f"{what} changes CI configuration, which needs the touch_ci authority; leave "
            f"{', '.join(sorted(set(touched)))[:200]} unchanged or ask a human",
            f"CI files without touch_ci: {', '.join(sorted(set(touched)))[:200]}",
        )


# -- outbound redaction ---------------------------------------------------------------------
def tenant_secrets(ctx: ToolContext) -> tuple[str, ...]:
    """Exact values Mate holds for the tenant: bot PATs, LLM key, webhook secrets, job keys.

    Decrypted once per call (outbound check and audit share them), never stored or returned.
    """
    cached = ctx.__dict__.get("_tenant_secrets")
    if cached is None:
        cached = ctx.__dict__["_tenant_secrets"] = _decrypt_tenant_secrets(ctx)
    return cached


def _decrypt_tenant_secrets(ctx: ToolContext) -> tuple[str, ...]:
    tenant = ctx.job.tenant
    values = [tenant.reveal_secret(name) for name in tenant.SECRET_FIELDS]
    values += [bot.reveal_secret("token") for bot in Bot.objects.for_tenant(tenant)]
    live_tokens = JobToken.objects.filter(job__tenant=tenant, revoked_at__isnull=True)
    values += [token.reveal_secret("value") for token in live_tokens]
    return tuple(v for v in values if v)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
        decoded = _decoded_base64(value)
        if decoded is not None:
            yield decoded
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _decoded_base64(value: str) -> str | None:
    if len(value) < 16 or len(value) % 4:
        return None
    try:
        return base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _kind_of(text: str, secrets: tuple[str, ...]) -> str:
    if any(s and len(s) >= 6 and s in text for s in secrets):
        return "a secret of the tenant"
    if any(pattern.search(text) for pattern in TOKEN_PATTERNS):
        return "a token-shaped string"
    return "a secret"


def check_outbound(ctx: ToolContext, arguments: dict[str, Any]) -> None:
    """Refuse a write whose text carries a tenant secret or a token shape (T13)."""
    secrets: tuple[str, ...] | None = None
    for text in _strings(arguments):
        if secrets is None:
            secrets = tenant_secrets(ctx)
        if contains_secret(text, secrets):
            raise errors.denied(
                errors.VALIDATION,
                "the content contains a secret or a token-shaped string; remove it and retry",
                f"outbound redaction: {_kind_of(text, secrets)}",
            )


# -- quick actions --------------------------------------------------------------------------
QUICK_ACTION_FIELDS = ("body", "title", "description")
# GitLab deletes "\r", then takes "/name" at the start of a line as a command (case-folded, so
# look-alike letters count too). Any line starting with "/" and a non-space is treated as one.
_COMMAND_LINE = re.compile(r"/\S")
_BACKTICKS = re.compile(r"`+")


def _as_code(line: str) -> str:
    """``line`` as one inline code span: GitLab renders it but no longer sees a command."""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(line)), default=0) + 1)
    pad = " " if len(fence) > 1 else ""  # CommonMark strips one space each side
    return f"{fence}{pad}{line}{pad}{fence}"


def neutralize_text(text: str) -> tuple[str, list[str]]:
    """``text`` with every line GitLab's quick-action parser could execute made inline code,
    and those lines (as GitLab would read them)."""
    lines = text.split("\n")
    changed: list[str] = []
    for index, line in enumerate(lines):
        seen = line.replace("\r", "")
        if _COMMAND_LINE.match(seen):
            changed.append(seen)
            lines[index] = _as_code(seen)
    return ("\n".join(lines), changed) if changed else (text, [])


def neutralize_quick_actions(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list]]:
    """A write's arguments as sent to GitLab (SPEC §7.3 "No side doors", T31) and, per field,
    the command lines shown as text instead of executed."""
    sent, changes = dict(arguments), {}
    for name in QUICK_ACTION_FIELDS:
        if isinstance(sent.get(name), str):
            sent[name], lines = neutralize_text(sent[name])
            if lines:
                changes[name] = lines
    return sent, changes


# -- sizes ----------------------------------------------------------------------------------
def content_bytes(action: dict[str, Any]) -> int:
    content = action.get("content") or ""
    if action.get("encoding") == "base64":
        return len(content) * 3 // 4
    return len(content.encode("utf-8"))


def check_commit_size(actions: list[dict[str, Any]]) -> None:
    sizes = [content_bytes(a) for a in actions]
    if any(size > COMMIT_FILE_MAX_BYTES for size in sizes):
        raise errors.ToolError(
            errors.VALIDATION, f"a file's content exceeds {COMMIT_FILE_MAX_BYTES} bytes"
        )
    if sum(sizes) > COMMIT_TOTAL_MAX_BYTES:
        raise errors.ToolError(
            errors.VALIDATION, f"the commit's contents exceed {COMMIT_TOTAL_MAX_BYTES} bytes"
        )
