"""Seeding API for tests: build a world without sending webhooks."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING

from . import commits
from .gitrepo import GitError
from .models import (
    DEVELOPER,
    MAINTAINER,
    Issue,
    MergeRequest,
    Project,
    ProtectedBranch,
    Token,
    User,
    validated_ci_config_path,
)

if TYPE_CHECKING:
    from .store import State


def new_token_string(prefix: str = "glpat-") -> str:
    """GitLab's format: the instance's token prefix (``glpat-`` unless an administrator changed
    it) and 20 URL-safe characters."""
    return prefix + secrets.token_urlsafe(15)


class SeedingMixin:
    state: State
    token_prefix: str

    # -- users & tokens -------------------------------------------------------------------
    def add_user(
        self,
        username: str,
        name: str | None = None,
        state: str = "active",
        bot: bool = False,
        email: str | None = None,
        public_email: str = "",
        is_admin: bool = False,
    ) -> User:
        with self.state.lock:
            if self.state.user(username):
                raise ValueError(f"user {username!r} exists")
            user = User(
                id=self.state.next_id("user"),
                username=username,
                name=name or username.replace("-", " ").title(),
                state=state,
                bot=bot,
                email=email or f"{username}@example.com",
                public_email=public_email,
                is_admin=is_admin,
                created_at=self.state.now(),
            )
            self.state.users[user.id] = user
            return user

    def set_user_state(self, user, state: str) -> None:
        """ "active", "blocked" or "deactivated"."""
        self.state.require_user(user).state = state

    def add_pat(
        self,
        user,
        scopes=("api",),
        expires_at: dt.date | None = None,
        name: str = "token",
        revoked: bool = False,
    ) -> str:
        """A personal access token; returns the token string."""
        with self.state.lock:
            owner = self.state.require_user(user)
            token = Token(
                id=self.state.next_id("token"),
                user_id=owner.id,
                name=name,
                token=new_token_string(self.token_prefix),
                scopes=list(scopes),
                expires_at=expires_at,
                created_at=self.state.now(),
                revoked=revoked,
            )
            self.state.tokens[token.id] = token
            return token.token

    def token_record(self, token: str) -> Token:
        found = self.state.token(token)
        if found is None:
            raise KeyError("unknown token")
        return found

    def revoke_token(self, token: str) -> None:
        self.token_record(token).revoked = True

    def travel(self, days: float = 0, **kwargs) -> None:
        """Move the simulator's clock forward (token expiry, timestamps)."""
        self.state.clock_offset += dt.timedelta(days=days, **kwargs)

    def set_clock(self, when: dt.datetime) -> None:
        """Set the simulator's clock to ``when`` (aware); it runs on from there. Over HTTP:
        ``PUT /-/sim/clock`` with ``{"now": "<ISO 8601>"}`` (``tests.gitlab_sim.control``)."""
        self.state.set_now(when)

    def protected_branches_for_maintainers(self, on: bool = True) -> None:
        """Answer the protected branches API as GitLab before 15.11 did: 403 below Maintainer."""
        self.state.protected_branches_read_level = MAINTAINER if on else DEVELOPER

    # -- projects -------------------------------------------------------------------------
    def add_project(
        self,
        path_with_namespace: str,
        default_branch: str = "main",
        files: dict[str, str | bytes] | None = None,
        members: dict | None = None,
        protected_branches=(),
        visibility: str = "private",
        description: str = "",
        fork_of=None,
        access_tokens_allowed: bool = True,
        only_allow_merge_if_pipeline_succeeds: bool = False,
        ci_config_path: str | None = None,
    ) -> Project:
        """A project with a real repository. ``files=None`` gives a README; ``{}`` an empty repo.

        ``members`` maps user (object, id or username) to access level. ``protected_branches``
        holds names (Maintainer push/merge) or dicts for ProtectedBranch fields.
        """
        with self.state.lock:
            if self.state.project(path_with_namespace):
                raise ValueError(f"project {path_with_namespace!r} exists")
            if "/" not in path_with_namespace:
                raise ValueError("use namespace/project")
            namespace = path_with_namespace.rsplit("/", 1)[0]
            project = Project(
                id=self.state.next_id("project"),
                path_with_namespace=path_with_namespace,
                name=path_with_namespace.rsplit("/", 1)[1],
                description=description,
                default_branch=default_branch,
                visibility=visibility,
                repo_path=self.root / "repos" / f"{path_with_namespace}.git",
                namespace_id=self.state.namespace_id(namespace),
                created_at=self.state.now(),
                access_tokens_allowed=access_tokens_allowed,
                only_allow_merge_if_pipeline_succeeds=only_allow_merge_if_pipeline_succeeds,
                ci_config_path=validated_ci_config_path(ci_config_path),
            )
            repo = self.repo(project)
            repo.init(default_branch, self.root / "hooks")
            self.state.projects[project.id] = project
            for user, level in (members or {}).items():
                self.add_member(project, user, level)
            for spec in protected_branches:
                spec = {"name": spec} if isinstance(spec, str) else dict(spec)
                self.protect_branch(project, **spec)
            if fork_of is not None:
                parent = self.state.require_project(fork_of)
                project.forked_from_id = parent.id
                repo.git("fetch", "-q", str(parent.repo_path), "+refs/heads/*:refs/heads/*")
            elif files is None:
                self.commit_files(
                    project, default_branch, {"README.md": f"# {project.name}\n"}, "Initial commit"
                )
            elif files:
                self.commit_files(project, default_branch, files, "Initial commit")
            return project

    def add_member(self, project, user, access_level: int) -> None:
        project = self.state.require_project(project)
        project.members[self.state.require_user(user).id] = int(access_level)

    def add_group_member(self, group: str, user, access_level: int) -> None:
        """A membership of the group ``group`` (its full path, e.g. ``acme`` or ``acme/team``):
        every project below it inherits it, as in GitLab."""
        with self.state.lock:
            self.state.namespace_id(group)
            members = self.state.group_members.setdefault(group, {})
            members[self.state.require_user(user).id] = int(access_level)

    def protect_branch(
        self,
        project,
        name: str,
        push_access_level: int = MAINTAINER,
        merge_access_level: int = MAINTAINER,
        allow_force_push: bool = False,
    ) -> ProtectedBranch:
        project = self.state.require_project(project)
        rule = ProtectedBranch(
            self.state.next_id("protected_branch"),
            name,
            push_access_level,
            merge_access_level,
            allow_force_push,
        )
        project.protected_branches.append(rule)
        return rule

    def create_branch(self, project, name: str, ref: str | None = None) -> str:
        project = self.state.require_project(project)
        repo = self.repo(project)
        sha = repo.resolve(ref or project.default_branch)
        if sha is None:
            raise ValueError(f"unknown ref {ref!r}")
        repo.update_ref(f"refs/heads/{name}", sha)
        return sha

    def create_tag(self, project, name: str, ref: str | None = None) -> str:
        project = self.state.require_project(project)
        repo = self.repo(project)
        sha = repo.resolve(ref or project.default_branch)
        if sha is None:
            raise ValueError(f"unknown ref {ref!r}")
        repo.update_ref(f"refs/tags/{name}", sha)
        return sha

    def set_ci_config_path(self, project, value: str | None) -> None:
        """The project's CI/CD configuration file setting, validated as GitLab does."""
        self.state.require_project(project).ci_config_path = validated_ci_config_path(value)

    def commit_files(
        self,
        project,
        branch: str,
        files: dict[str, str | bytes | None],
        message: str = "Update files",
        author=None,
        start_branch: str | None = None,
    ) -> str:
        """Commit to ``branch`` (created from ``start_branch`` if new). ``None`` deletes a file."""
        with self.state.lock:
            project = self.state.require_project(project)
            repo = self.repo(project)
            parent = repo.branch_sha(branch) or (
                repo.branch_sha(start_branch) if start_branch else None
            )
            existing = repo.tree_files(parent)
            actions = []
            for path, content in files.items():
                if content is None:
                    actions.append({"action": "delete", "file_path": path})
                    continue
                kind = "update" if path in existing else "create"
                data = content.encode() if isinstance(content, str) else content
                actions.append({"action": kind, "file_path": path, "content": data})
            user = self.state.user(author) if author is not None else None
            who = (
                self.identity(user)
                if user
                else commits.Identity("Administrator", "admin@example.com")
            )
            sha, _ = commits.commit(repo, parent, actions, message.rstrip("\n") + "\n", who)
            repo.update_ref(f"refs/heads/{branch}", sha)
            self.refresh_merge_request_refs(project)
            return sha

    # -- issues, merge requests, pipelines, hooks ----------------------------------------
    def add_issue(
        self,
        project,
        title: str,
        description: str = "",
        author=None,
        assignees=(),
        labels=(),
        confidential=False,
    ) -> Issue:
        with self.state.lock:
            project = self.state.require_project(project)
            author = self.state.require_user(author)
            now = self.state.now()
            issue = Issue(
                id=self.state.next_id("issue"),
                iid=project.next_issue_iid,
                project_id=project.id,
                title=title,
                description=description,
                author_id=author.id,
                created_at=now,
                updated_at=now,
                assignee_ids=[self.state.require_user(u).id for u in assignees],
                labels=list(labels),
                confidential=confidential,
            )
            for label in issue.labels:
                self.state.ensure_label(project, label)
            project.next_issue_iid += 1
            project.issues[issue.iid] = issue
            return issue

    def add_merge_request(
        self,
        project,
        source_branch: str,
        target_branch: str | None = None,
        author=None,
        title: str | None = None,
        description: str = "",
        assignees=(),
        reviewers=(),
        labels=(),
        draft: bool = False,
        source_project=None,
    ) -> MergeRequest:
        """An MR; a missing source branch is created from the target branch first."""
        from .mr_ops import create_merge_request

        with self.state.lock:
            project = self.state.require_project(project)
            source = self.state.require_project(source_project) if source_project else project
            target_branch = target_branch or project.default_branch
            if self.repo(source).branch_sha(source_branch) is None:
                self.create_branch(
                    source, source_branch, target_branch if source is project else None
                )
            title = title or source_branch.replace("-", " ").capitalize()
            if draft and not title.lower().startswith("draft:"):
                title = f"Draft: {title}"
            return create_merge_request(
                self,
                project,
                self.state.require_user(author),
                source_branch,
                target_branch,
                title,
                source_project=source,
                description=description,
                assignee_ids=[self.state.require_user(u).id for u in assignees],
                reviewer_ids=[self.state.require_user(u).id for u in reviewers],
                labels=list(labels),
            )

    # -- look-ups for tests ---------------------------------------------------------------
    def project(self, ref) -> Project:
        return self.state.require_project(ref)

    def user(self, ref) -> User:
        return self.state.require_user(ref)

    def issue(self, project, iid: int) -> Issue:
        return self.state.require_project(project).issues[int(iid)]

    def merge_request(self, project, iid: int) -> MergeRequest:
        return self.state.require_project(project).merge_requests[int(iid)]

    def _mr_ref(self, project: Project, mr) -> MergeRequest | None:
        if mr is None or isinstance(mr, MergeRequest):
            return mr
        return project.merge_requests[int(mr)]

    def approved_by(self, project, iid: int) -> list[str]:
        """Usernames of the users who approved the MR, oldest approval first."""
        mr = self.merge_request(project, iid)
        return [self.state.users[a.user_id].username for a in mr.approvals]

    def require_approvals(self, project, count: int, author_may_approve: bool = True) -> None:
        """Project setting: ``count`` approvals before a merge (Premium's approvals_before_merge)
        and whether an MR's author may approve it."""
        project = self.state.require_project(project)
        project.approvals_before_merge = count
        project.merge_requests_author_approval = author_may_approve

    def branch_sha(self, project, branch: str) -> str | None:
        return self.repo(self.state.require_project(project)).branch_sha(branch)

    def read_file(self, project, path: str, ref: str | None = None) -> bytes | None:
        project = self.state.require_project(project)
        repo = self.repo(project)
        sha = repo.resolve(ref or project.default_branch)
        found = repo.blob_at(sha, path) if sha else None
        return repo.read_blob(found[1]) if found else None


__all__ = ["GitError", "SeedingMixin", "new_token_string"]
