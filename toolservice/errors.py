"""Sanitized tool errors (SPEC §7.2).

An agent only ever sees a category and a message Mate wrote itself: never a stack trace, a
token, an internal URL or a GitLab response body. ``from_gitlab`` maps python-gitlab and
transport exceptions onto the categories by status code alone.
"""

from __future__ import annotations

import gitlab
import requests

from jobs.credentials import CredentialError

AUTH = "auth"
PERMISSION = "permission"
NOT_FOUND = "not_found"
VALIDATION = "validation"
RATE_LIMIT = "rate_limit"
CONFLICT = "conflict"
UPSTREAM = "upstream"

CATEGORIES = (AUTH, PERMISSION, NOT_FOUND, VALIDATION, RATE_LIMIT, CONFLICT, UPSTREAM)

HTTP_STATUS = {
    AUTH: 401,
    PERMISSION: 403,
    NOT_FOUND: 404,
    VALIDATION: 400,
    RATE_LIMIT: 429,
    CONFLICT: 409,
    UPSTREAM: 502,
}

DEFAULT_MESSAGES = {
    AUTH: "the job credential is missing, invalid or no longer live",
    PERMISSION: "GitLab refused this action for the job's key",
    NOT_FOUND: "not found in the job's project",
    VALIDATION: "GitLab rejected the request as invalid",
    RATE_LIMIT: "too many requests; wait and retry",
    CONFLICT: "the request conflicts with the current state in GitLab",
    UPSTREAM: "GitLab is unavailable or answered with an error; retry later",
}

UNKNOWN_TOOL_MESSAGE = "unknown tool"


class ToolError(Exception):
    """A failure the caller may see. ``message`` must be written by Mate, never copied from
    GitLab; ``reason`` is for the audit log only (why a call was denied)."""

    def __init__(
        self,
        category: str,
        message: str | None = None,
        *,
        reason: str = "",
        denied: bool = False,
    ) -> None:
        if category not in CATEGORIES:
            raise ValueError(f"unknown error category {category!r}")
        self.category = category
        self.message = message or DEFAULT_MESSAGES[category]
        self.reason = reason
        self.denied = denied
        super().__init__(f"{category}: {self.message}")

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.category]

    def as_dict(self) -> dict[str, str]:
        return {"category": self.category, "message": self.message}


class UnknownTool(ToolError):
    """The one answer for a tool that does not exist and for one outside the effective set."""

    def __init__(self, reason: str) -> None:
        super().__init__(NOT_FOUND, UNKNOWN_TOOL_MESSAGE, reason=reason, denied=True)


def unknown_tool(reason: str) -> UnknownTool:
    return UnknownTool(reason)


def denied(category: str, message: str, reason: str) -> ToolError:
    """A call refused by a scope rule before (or instead of) reaching GitLab."""
    return ToolError(category, message, reason=reason, denied=True)


def _category_for_status(status: int | None) -> str:
    if status is None:
        return UPSTREAM
    if status == 401:
        return AUTH
    if status == 403:
        return PERMISSION
    if status == 404:
        return NOT_FOUND
    if status in (405, 406, 409):  # merge refused, conflicts, sha mismatch
        return CONFLICT
    if status in (400, 413, 422):
        return VALIDATION
    if status == 429:
        return RATE_LIMIT
    return UPSTREAM


def from_gitlab(exc: BaseException) -> ToolError:
    """Translate an exception raised while talking to GitLab; the body is dropped."""
    if isinstance(exc, gitlab.exceptions.GitlabError):
        category = _category_for_status(exc.response_code)
        return ToolError(category, reason=f"gitlab status {exc.response_code}")
    if isinstance(exc, CredentialError):
        return ToolError(UPSTREAM, reason="the job's GitLab credentials are unavailable")
    if isinstance(exc, requests.RequestException | OSError):
        return ToolError(UPSTREAM, reason=f"transport: {type(exc).__name__}")
    return ToolError(UPSTREAM, reason=f"unexpected: {type(exc).__name__}")
