"""In-memory GitLab objects. Plain dataclasses; behaviour lives in the store and handlers."""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

GUEST, PLANNER, REPORTER, DEVELOPER, MAINTAINER, OWNER = 10, 15, 20, 30, 40, 50
ACCESS_NAMES = {
    0: "No access",
    10: "Guest",
    15: "Planner",
    20: "Reporter",
    30: "Developer",
    40: "Maintainer",
    50: "Owner",
}
VISIBILITY_LEVELS = {"private": 0, "internal": 10, "public": 20}

# GitLab's Gitlab::Auth scopes. Which of them open the REST API and which open git over HTTP.
API_READ_SCOPES = {"api", "read_api"}
API_WRITE_SCOPES = {"api"}
GIT_FETCH_SCOPES = {"api", "read_api", "read_repository", "write_repository"}
GIT_PUSH_SCOPES = {"api", "write_repository"}
KNOWN_SCOPES = {
    "api",
    "read_api",
    "read_user",
    "read_repository",
    "write_repository",
    "read_registry",
    "write_registry",
    "create_runner",
    "manage_runner",
    "ai_features",
    "k8s_proxy",
    "read_service_ping",
    "self_rotate",
    "sudo",
    "admin_mode",
}
RESOURCE_BOT_SCOPES = KNOWN_SCOPES - {"sudo", "admin_mode", "read_service_ping"}

# MergeRequest::DRAFT_REGEX, simplified to the prefixes GitLab recognises.
DRAFT_RE = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|draft$)\s*", re.IGNORECASE)


def validated_ci_config_path(value) -> str | None:
    """Project#ci_config_path= and its validation: NUL bytes dropped; no leading slash, no
    ``..``, at most 255 characters; blank means the default ``.gitlab-ci.yml``. Every form
    GitLab reads is kept as given: ``path``, ``path@group/project``,
    ``path@group/project:ref`` and a remote ``https://`` URL."""
    if value is None:
        return None
    text = str(value).replace("\0", "")
    if text and (text.startswith("/") or ".." in text):
        raise ValueError("cannot include leading slash or directory traversal.")
    if len(text) > 255:
        raise ValueError("is too long (maximum is 255 characters)")
    return text


@dataclass(eq=False)
class User:
    id: int
    username: str
    name: str
    state: str = "active"
    bot: bool = False
    email: str = ""
    public_email: str = ""
    is_admin: bool = False
    created_at: dt.datetime | None = None


@dataclass(eq=False)
class Token:
    id: int
    user_id: int
    name: str
    token: str
    scopes: list[str]
    expires_at: dt.date | None
    created_at: dt.datetime
    revoked: bool = False
    last_used_at: dt.datetime | None = None
    project_id: int | None = None  # set for project access tokens
    access_level: int | None = None
    description: str = ""

    def expired(self, today: dt.date) -> bool:
        # Expirable#expired?: a token expires at 00:00 UTC on its expires_at date.
        return self.expires_at is not None and self.expires_at <= today

    def active(self, today: dt.date) -> bool:
        return not self.revoked and not self.expired(today)


@dataclass(eq=False)
class ProtectedBranch:
    id: int
    name: str
    push_access_level: int = MAINTAINER
    merge_access_level: int = MAINTAINER
    allow_force_push: bool = False

    def matches(self, branch: str) -> bool:
        if "*" in self.name:
            return fnmatch.fnmatchcase(branch, self.name)
        return branch == self.name


@dataclass(eq=False)
class Label:
    id: int
    title: str
    color: str
    project_id: int
    created_at: dt.datetime
    description: str | None = None


@dataclass(eq=False)
class Note:
    id: int
    body: str
    author_id: int
    system: bool
    noteable_type: str  # "Issue" | "MergeRequest"
    noteable_id: int
    noteable_iid: int
    project_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    internal: bool = False


@dataclass(eq=False)
class Issue:
    id: int
    iid: int
    project_id: int
    title: str
    description: str
    author_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    assignee_ids: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    state: str = "opened"
    confidential: bool = False
    closed_at: dt.datetime | None = None
    closed_by_id: int | None = None
    updated_by_id: int | None = None
    notes: list[Note] = field(default_factory=list)


@dataclass(eq=False)
class Approval:
    """One user's approval of a merge request (Approval: user, created_at)."""

    user_id: int
    created_at: dt.datetime


@dataclass(eq=False)
class MergeRequest:
    id: int
    iid: int
    project_id: int  # target project
    source_project_id: int
    source_branch: str
    target_branch: str
    title: str
    description: str
    author_id: int
    created_at: dt.datetime
    updated_at: dt.datetime
    assignee_ids: list[int] = field(default_factory=list)
    reviewer_ids: list[int] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    state: str = "opened"
    merged_at: dt.datetime | None = None
    merged_by_id: int | None = None
    merge_commit_sha: str | None = None
    squash_commit_sha: str | None = None
    merged_head_sha: str | None = None
    merged_base_sha: str | None = None
    closed_at: dt.datetime | None = None
    closed_by_id: int | None = None
    squash: bool = False
    force_remove_source_branch: bool = False
    head_pipeline_id: int | None = None
    updated_by_id: int | None = None
    notes: list[Note] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    approvals_required: int | None = None  # None: the project's approvals_before_merge

    @property
    def draft(self) -> bool:
        return bool(DRAFT_RE.match(self.title))


@dataclass(eq=False)
class Job:
    id: int
    name: str
    stage: str
    status: str
    log: str
    pipeline_id: int
    project_id: int
    created_at: dt.datetime
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    failure_reason: str | None = None
    allow_failure: bool = False
    when: str = "on_success"
    user_id: int | None = None


@dataclass(eq=False)
class Pipeline:
    id: int
    iid: int
    project_id: int
    ref: str
    sha: str
    status: str
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    before_sha: str = "0" * 40
    merge_request_iid: int | None = None
    user_id: int | None = None
    jobs: list[Job] = field(default_factory=list)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    tag: bool = False
    name: str | None = None


@dataclass(eq=False)
class Hook:
    id: int
    project_id: int
    url: str
    token: str | None
    signing_token: str | None
    events: set[str]
    created_at: dt.datetime


@dataclass(eq=False)
class Project:
    id: int
    path_with_namespace: str
    name: str
    description: str
    default_branch: str
    visibility: str
    repo_path: Path
    namespace_id: int
    created_at: dt.datetime
    members: dict[int, int] = field(default_factory=dict)  # user id -> access level
    protected_branches: list[ProtectedBranch] = field(default_factory=list)
    labels: dict[str, Label] = field(default_factory=dict)
    issues: dict[int, Issue] = field(default_factory=dict)
    merge_requests: dict[int, MergeRequest] = field(default_factory=dict)
    hooks: list[Hook] = field(default_factory=list)
    forked_from_id: int | None = None
    access_tokens_allowed: bool = True
    only_allow_merge_if_pipeline_succeeds: bool = False
    # Merge request approvals (Premium): approvals needed before a merge, and whether an MR's
    # author may approve it ("Prevent approval by author" unchecked).
    approvals_before_merge: int = 0
    merge_requests_author_approval: bool = True
    ci_config_path: str | None = None
    archived: bool = False
    next_issue_iid: int = 1
    next_mr_iid: int = 1
    next_pipeline_iid: int = 1

    @property
    def path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[-1]

    @property
    def namespace_path(self) -> str:
        return self.path_with_namespace.rsplit("/", 1)[0]

    def protection_for(self, branch: str) -> list[ProtectedBranch]:
        return [p for p in self.protected_branches if p.matches(branch)]
