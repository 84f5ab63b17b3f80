"""Sanitized tool errors (SPEC §7.2).

An agent only ever sees a category and a message Mate wrote itself: never a stack trace, a
token, an internal URL or a GitLab response body. ``from_gitlab`` maps python-gitlab and
transport exceptions onto the categories by status code alone, read per tool where GitLab's
codes mean something else for one endpoint (``TOOL_STATUSES``).
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
# GitLab's 401 answers the key Mate holds for the job, never the agent's own credential (Mate
# checked that before calling GitLab): telling the agent ``auth`` would blame the wrong one.
GITLAB_KEY_REFUSED = (
    "GitLab refused the key Mate holds for this job (expired or revoked); the job's own "
    "credential is fine; retry later"
)


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


# What a status means for one tool where it differs from the default reading, with the
# message the agent gets. PUT /projects/:id/merge_requests/:iid/merge (lib/api/merge_requests.rb)
# answers 401 when the (valid) caller may not merge into the target branch, 405 when the MR is
# not mergeable now, 422 (406 on older GitLab) when the merge itself fails and 409 when ``sha``
# is no longer the head. The tool promises ``conflict`` for every refusal (its description).
TOOL_STATUSES: dict[str, dict[int, tuple[str, str]]] = {
    "merge_merge_request": {
        401: (
            CONFLICT,
            "GitLab does not allow the job to merge this merge request: its target branch "
            "allows only other roles or users to merge; a human has to merge it",
        ),
        405: (
            CONFLICT,
            "GitLab cannot merge this merge request now: it is a draft, closed, has conflicts, "
            "or waits for a pipeline, approvals or resolved threads; see detailed_merge_status "
            "in get_merge_request",
        ),
        406: (
            CONFLICT,
            "GitLab could not merge the branch (conflicts or a failed merge); rebase or "
            "resolve the conflicts, then retry",
        ),
        409: (
            CONFLICT,
            "the merge request's head is no longer the given sha (SHA mismatch); read it "
            "again with get_merge_request and retry",
        ),
        422: (
            CONFLICT,
            "GitLab could not merge the branch (conflicts or a failed merge); rebase or "
            "resolve the conflicts, then retry",
        ),
    },
}


def from_gitlab(exc: BaseException, tool: str | None = None) -> ToolError:
    """Translate an exception raised while talking to GitLab; the body is dropped.

    ``tool`` names the tool being run: its entries in TOOL_STATUSES win over the default
    category of a status code."""
    if isinstance(exc, gitlab.exceptions.GitlabError):
        reason = f"gitlab status {exc.response_code}"
        override = TOOL_STATUSES.get(tool or "", {}).get(exc.response_code or 0)
        if override is not None:
            return ToolError(override[0], override[1], reason=reason)
        if exc.response_code == 401:
            return ToolError(UPSTREAM, GITLAB_KEY_REFUSED, reason=reason)
        return ToolError(_category_for_status(exc.response_code), reason=reason)
    if isinstance(exc, CredentialError):
        return ToolError(UPSTREAM, reason="the job's GitLab credentials are unavailable")
    if isinstance(exc, requests.RequestException | OSError):
        return ToolError(UPSTREAM, reason=f"transport: {type(exc).__name__}")
    return ToolError(UPSTREAM, reason=f"unexpected: {type(exc).__name__}")
