"""The simulator's whole state, its clock, look-ups and GitLab's permission rules."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import defaultdict
from urllib.parse import unquote

from .models import (
    DEVELOPER,
    GUEST,
    MAINTAINER,
    REPORTER,
    Job,
    Label,
    MergeRequest,
    Pipeline,
    Project,
    Token,
    User,
)

LABEL_COLORS = ["#6699cc", "#dc143c", "#009966", "#8fbc8f", "#ed9121", "#9400d3", "#c21e56"]


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._counters: dict[str, itertools.count] = defaultdict(lambda: itertools.count(1))
        self.users: dict[int, User] = {}
        self.tokens: dict[int, Token] = {}
        self.projects: dict[int, Project] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.jobs: dict[int, Job] = {}
        self.group_hooks: dict[str, list] = {}  # group full path -> GroupHook (group_hooks.py)
        self.namespaces: dict[str, int] = {}
        # Group memberships: group full path -> user id -> access level. A project inherits
        # the memberships of its namespace and of every ancestor group (Members API "all").
        self.group_members: dict[str, dict[int, int]] = {}
        self.clock_offset = dt.timedelta()
        # Before GitLab 15.11 the protected branches API needed admin_project (Maintainer);
        # since then Developers may read it (lib/api/protected_branches.rb, read_protected_branch).
        self.protected_branches_read_level = DEVELOPER

    # -- clock & ids ----------------------------------------------------------------------
    def now(self) -> dt.datetime:
        """The simulator's time: the process clock (which ``time_machine`` moves too) plus
        ``clock_offset``. Token expiry, ``created_at`` and every other timestamp read it."""
        return dt.datetime.now(dt.UTC) + self.clock_offset

    def today(self) -> dt.date:
        """The UTC date GitLab compares ``expires_at`` with."""
        return self.now().date()

    def set_now(self, when: dt.datetime) -> None:
        """Make ``now()`` read ``when`` (an aware datetime) at this instant; time flows on."""
        if when.tzinfo is None:
            raise ValueError("the simulator's clock takes an aware datetime (UTC)")
        self.clock_offset = when - dt.datetime.now(dt.UTC)

    def next_id(self, kind: str) -> int:
        return next(self._counters[kind])

    def namespace_id(self, path: str) -> int:
        if path not in self.namespaces:
            self.namespaces[path] = self.next_id("namespace")
        return self.namespaces[path]

    # -- look-ups -------------------------------------------------------------------------
    def user(self, ref: User | int | str | None) -> User | None:
        if ref is None or isinstance(ref, User):
            return ref
        if isinstance(ref, int):
            return self.users.get(ref)
        for user in self.users.values():
            if user.username == ref:
                return user
        return None

    def require_user(self, ref) -> User:
        user = self.user(ref)
        if user is None:
            raise KeyError(f"no such user: {ref!r}")
        return user

    def project(self, ref: Project | int | str) -> Project | None:
        if isinstance(ref, Project):
            return ref
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return self.projects.get(int(ref))
        path = unquote(ref)
        for project in self.projects.values():
            if project.path_with_namespace == path:
                return project
        return None

    def require_project(self, ref) -> Project:
        project = self.project(ref)
        if project is None:
            raise KeyError(f"no such project: {ref!r}")
        return project

    def token(self, secret: str) -> Token | None:
        for token in self.tokens.values():
            if token.token == secret:
                return token
        return None

    def mr(self, project: Project, iid: int | str) -> MergeRequest | None:
        try:
            return project.merge_requests.get(int(iid))
        except ValueError:
            return None

    def ensure_label(self, project: Project, title: str) -> Label:
        if title not in project.labels:
            color = LABEL_COLORS[len(project.labels) % len(LABEL_COLORS)]
            project.labels[title] = Label(
                id=self.next_id("label"),
                title=title,
                color=color,
                project_id=project.id,
                created_at=self.now(),
            )
        return project.labels[title]

    # -- memberships --------------------------------------------------------------------
    def ancestor_groups(self, project: Project) -> list[str]:
        """The project's namespace and its ancestors, nearest first (``a/b/c`` for a project
        ``a/b/c/p``: ``a/b/c``, ``a/b``, ``a``)."""
        parts = project.namespace_path.split("/")
        return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]

    def all_members(self, project: Project) -> dict[int, int]:
        """Direct and inherited members of ``project`` with their access level. A user who is
        a member of the project and of ancestor groups counts with the highest level (the
        Members API's ``/members/all``: "only its membership with the highest access_level
        is returned")."""
        found = dict(project.members)
        for group in self.ancestor_groups(project):
            for user_id, level in self.group_members.get(group, {}).items():
                found[user_id] = max(found.get(user_id, 0), level)
        return found

    # -- permissions (ProjectPolicy, reduced to what the simulator serves) -----------------
    def access_level(self, user: User | None, project: Project) -> int:
        if user is None:
            return 0
        level = self.all_members(project).get(user.id, 0)
        if user.is_admin:
            return max(level, 50)
        return level

    def can_see(self, user: User | None, project: Project) -> bool:
        if project.visibility == "public":
            return True
        if project.visibility == "internal" and user is not None and not user.bot:
            return True
        return self.access_level(user, project) >= GUEST

    def can_read_code(self, user: User | None, project: Project) -> bool:
        if not self.can_see(user, project):
            return False
        return project.visibility != "private" or self.access_level(user, project) >= REPORTER

    def can_comment(self, user: User | None, project: Project, noteable_type: str) -> bool:
        if user is None or not self.can_see(user, project):
            return False
        if noteable_type == "MergeRequest":
            return self.can_read_code(user, project)
        return True

    def can_admin_issuable(self, user: User | None, project: Project) -> bool:
        return self.access_level(user, project) >= REPORTER

    def can_push(self, user: User | None, project: Project, branch: str) -> bool:
        level = self.access_level(user, project)
        if level < DEVELOPER:
            return False
        rules = project.protection_for(branch)
        return all(level >= rule.push_access_level for rule in rules)

    def can_merge(self, user: User | None, project: Project, branch: str) -> bool:
        level = self.access_level(user, project)
        if level < DEVELOPER:
            return False
        rules = project.protection_for(branch)
        return all(level >= rule.merge_access_level for rule in rules)

    def can_update_mr(self, user: User | None, project: Project, mr: MergeRequest) -> bool:
        """update_merge_request: Developer, or an author/assignee who can read the MR."""
        if user is None:
            return False
        if self.access_level(user, project) >= DEVELOPER:
            return True
        involved = user.id == mr.author_id or user.id in mr.assignee_ids
        return involved and self.can_read_code(user, project)

    def can_read_protected_branches(self, user: User | None, project: Project) -> bool:
        """GET /projects/:id/protected_branches: Developer since GitLab 15.11, Maintainer before
        (``protected_branches_read_level``)."""
        return self.access_level(user, project) >= self.protected_branches_read_level

    def can_manage_tokens(self, user: User | None, project: Project) -> bool:
        return self.access_level(user, project) >= MAINTAINER
