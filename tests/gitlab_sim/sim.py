"""GitLabSim: start/stop, shared services (repos, MR status, request log, rate limiting)."""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from .events import EventsMixin
from .gitrepo import Identity, Repo
from .group_hooks import GroupHooksMixin
from .models import MergeRequest, Pipeline, Project, User
from .seeding import SeedingMixin
from .seeding_ci import CISeedingMixin
from .store import State
from .webhooks import Dispatcher

PRE_RECEIVE = '''#!{python}
"""pre-receive: GitLab's push rules for protected branches (policy comes from the server)."""
import fnmatch, json, os, subprocess, sys

policy = json.loads(os.environ.get("SIM_PUSH_POLICY") or "null")
if policy is None:
    sys.exit(0)
ZERO = "0" * 40

def reject(message):
    sys.stderr.write("GitLab: " + message + "\\n")
    sys.exit(1)

def matches(branch, name):
    return fnmatch.fnmatchcase(branch, name) if "*" in name else branch == name

for line in sys.stdin:
    old, new, ref = line.split()
    if not ref.startswith("refs/heads/"):
        continue
    branch = ref[len("refs/heads/"):]
    rules = [r for r in policy["protected"] if matches(branch, r["name"])]
    if new == ZERO:
        if branch == policy["default_branch"]:
            reject("The default branch of a project cannot be deleted.")
        if rules:
            reject("You can only delete protected branches using the web interface.")
        continue
    if any(policy["access_level"] < r["push_access_level"] for r in rules):
        reject("You are not allowed to push code to protected branches on this project.")
    if rules and old != ZERO and not all(r["allow_force_push"] for r in rules):
        forced = subprocess.run(["git", "merge-base", "--is-ancestor", old, new]).returncode != 0
        if forced:
            reject("You are not allowed to force push code to a protected branch on this project.")
'''


@dataclass
class Fault:
    """An injected failure: the next ``remaining`` matching API requests get this answer."""

    status: int
    body: Any
    method: str | None
    path: str | None
    remaining: int
    reflect: bool


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict
    token: str | None
    username: str | None
    status: int
    kind: str  # "api" | "git"
    body: dict | None = None


class GitLabSim(SeedingMixin, CISeedingMixin, EventsMixin, GroupHooksMixin):
    """A GitLab stand-in on 127.0.0.1. Use as a context manager or start()/stop().

    ``host`` is the address to listen on and to name in every URL the simulator hands out
    (``url``, ``web_url``, ``http_url_to_repo``...): e.g. a Docker bridge's gateway address, so
    that containers on that bridge can reach it. Loopback or an address of this machine only.
    """

    def __init__(
        self, port: int = 0, root: str | Path | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self._port = port
        self._root_arg = Path(root) if root else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.state = State()
        self.requests: list[RequestRecord] = []
        self._rate_limited = 0
        self._retry_after = 1
        self._rate_lock = threading.Lock()
        self.deliver_api_events = True
        self.failing_merges: dict[int, bool] = {}
        self.faults: list[Fault] = []
        # GitLab's instance token prefix (Admin > Settings > "Personal access token prefix"):
        # the prefix of every personal and project access token minted from now on.
        self.token_prefix = "glpat-"
        self.server_errors: list[str] = []  # tracebacks of simulator bugs (answered 500)
        self.root = Path()
        self.dispatcher: Dispatcher | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> GitLabSim:
        from .server import make_server

        self.root = self._root_arg or Path(tempfile.mkdtemp(prefix="gitlab-sim-"))
        self._owns_root = self._root_arg is None
        self._prepare_dirs()
        self._server = make_server(self, self._port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="gitlab-sim", daemon=True
        )
        self._thread.start()
        self.dispatcher = Dispatcher(self.url)
        return self

    def _prepare_dirs(self) -> None:
        (self.root / "repos").mkdir(parents=True, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        hooks = self.root / "hooks"
        hooks.mkdir(exist_ok=True)
        script = hooks / "pre-receive"
        script.write_text(PRE_RECEIVE.replace("{python}", sys.executable))
        script.chmod(0o755)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.dispatcher is not None:
            self.dispatcher.close()
        if getattr(self, "_owns_root", False):
            shutil.rmtree(self.root, ignore_errors=True)

    def reset(self) -> None:
        """Forget everything (users, projects, repositories, logs); keep the server running."""
        with self.state.lock:
            self.state = State()
            self.requests.clear()
            if self.dispatcher:
                self.dispatcher.wait()
                self.dispatcher.deliveries.clear()
            shutil.rmtree(self.root / "repos", ignore_errors=True)
            self._prepare_dirs()
            self._rate_limited = 0
            self.failing_merges.clear()
            self.faults.clear()
            self.server_errors.clear()

    def __enter__(self) -> GitLabSim:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "simulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    # -- rate limiting --------------------------------------------------------------------
    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        """The next ``n`` API requests get 429 with Retry-After."""
        with self._rate_lock:
            self._rate_limited = n
            self._retry_after = retry_after

    def take_rate_limit(self) -> int | None:
        with self._rate_lock:
            if self._rate_limited > 0:
                self._rate_limited -= 1
                return self._retry_after
        return None

    # -- fault injection ------------------------------------------------------------------
    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        body: Any = None,
        *,
        method: str | None = None,
        path: str | None = None,
        reflect: bool = False,
    ) -> None:
        """The next ``n`` API requests with this method whose decoded path contains ``path``
        (any, when None) get ``status`` and ``body`` (GitLab's 500 answer by default) instead
        of being served. ``reflect``: the body also echoes the request's headers (the token
        included) and parameters, as a misbehaving proxy or debug error page would."""
        with self._rate_lock:
            self.faults.append(Fault(status, body, method and method.upper(), path, n, reflect))

    def take_fault(self, method: str, path: str, headers: dict, params: dict):
        """The answer of the first injected fault matching this request, or None."""
        with self._rate_lock:
            for fault in self.faults:
                if fault.remaining <= 0:
                    continue
                if fault.method not in (None, method) or (fault.path and fault.path not in path):
                    continue
                fault.remaining -= 1
                body = fault.body
                if body is None:
                    body = {"message": "500 Internal Server Error"}
                if fault.reflect:
                    body = {
                        **(body if isinstance(body, dict) else {"message": body}),
                        "request": {"method": method, "path": path, "headers": dict(headers)},
                        "params": params,
                    }
                return fault.status, body
        return None

    # -- webhooks -------------------------------------------------------------------------
    @property
    def deliveries(self):
        return self.dispatcher.deliveries if self.dispatcher else []

    def wait_for_deliveries(self, timeout: float = 15.0) -> None:
        """Wait until webhooks queued by API calls have been sent."""
        if self.dispatcher:
            self.dispatcher.wait(timeout)

    # -- repositories ---------------------------------------------------------------------
    def repo(self, project: Project) -> Repo:
        return Repo(project.repo_path, self.root / "home")

    def clone_url(self, project, token: str | None = None, username: str = "oauth2") -> str:
        project = self.state.require_project(project)
        auth = f"{username}:{token}@" if token else ""
        return f"http://{auth}{self.host}:{self.port}/{project.path_with_namespace}.git"

    def identity(self, user: User) -> Identity:
        return Identity(user.name, user.email)

    def mr_head(self, project: Project, mr: MergeRequest) -> str | None:
        """Sync refs/merge-requests/:iid/head from the source branch (fork or not)."""
        repo = self.repo(project)
        ref = f"refs/merge-requests/{mr.iid}/head"
        if mr.state != "opened":
            return mr.merged_head_sha or repo.resolve(ref)
        source = self.state.projects[mr.source_project_id]
        sha = self.repo(source).branch_sha(mr.source_branch)
        if sha is None:
            return None
        if repo.resolve(ref) == sha:
            return sha
        if source.id != project.id:  # a fork's commits become reachable in the parent
            repo.fetch_from(self.repo(source), f"refs/heads/{mr.source_branch}", ref)
        else:
            repo.update_ref(ref, sha)
        # MergeRequestDiff keeps its head commit around, so it stays reachable after a force push.
        repo.update_ref(f"refs/keep-around/{sha}", sha)
        return sha

    def refresh_merge_request_refs(self, source: Project) -> None:
        """MergeRequests::RefreshService after a push to ``source``: every open MR whose source
        branch lives there (in its own project or, for a fork, in the parent) gets its
        refs/merge-requests/:iid/head moved to the branch's new head."""
        for target in list(self.state.projects.values()):
            for mr in list(target.merge_requests.values()):
                if mr.state == "opened" and mr.source_project_id == source.id:
                    self.mr_head(target, mr)

    def mr_status(self, project: Project, mr: MergeRequest) -> dict:
        repo = self.repo(project)
        head = self.mr_head(project, mr)
        target = repo.branch_sha(mr.target_branch)
        if mr.state == "merged":
            base = mr.merged_base_sha
        else:
            base = repo.merge_base(target, head) if head and target else None
        conflicts = False
        if mr.state == "opened" and head and target and base != head:
            conflicts = repo.merge_tree(target, head) is None
        changes = len(repo.diff(base, head)) if base and head else 0
        if mr.state != "opened":
            detailed = "not_open"
        elif head is None or target is None:
            detailed = "commits_status"
        elif mr.draft:
            detailed = "draft_status"
        elif conflicts:
            detailed = "conflict"
        elif project.only_allow_merge_if_pipeline_succeeds and not self._pipeline_ok(mr):
            detailed = "ci_must_pass"
        elif self.approvals_left(project, mr) > 0:
            detailed = "not_approved"
        else:
            detailed = "mergeable"
        return {
            "head_sha": head,
            "base_sha": base,
            "start_sha": target if mr.state == "opened" else base,
            "has_conflicts": conflicts,
            "changes_count": changes,
            "merge_status": "cannot_be_merged" if conflicts else "can_be_merged",
            "detailed_merge_status": detailed,
        }

    def approvals_required(self, project: Project, mr: MergeRequest) -> int:
        if mr.approvals_required is not None:
            return mr.approvals_required
        return project.approvals_before_merge

    def approvals_left(self, project: Project, mr: MergeRequest) -> int:
        return max(0, self.approvals_required(project, mr) - len(mr.approvals))

    def _pipeline_ok(self, mr: MergeRequest) -> bool:
        pipeline: Pipeline | None = self.state.pipelines.get(mr.head_pipeline_id or 0)
        return pipeline is not None and pipeline.status in ("success", "skipped")

    # -- request log ----------------------------------------------------------------------
    def record_api(
        self, method: str, path: str, query: str, secret: str | None, status: int, body
    ) -> None:
        self._record(method, path, query, secret, status, "api", body)

    def _record(self, method, path, query, secret, status, kind, body=None) -> None:
        token = self.state.token(secret) if secret else None
        username = self.state.users[token.user_id].username if token else None
        params = {
            k: v[-1] if len(v) == 1 else v
            for k, v in parse_qs(query, keep_blank_values=True).items()
        }
        with self._rate_lock:
            self.requests.append(
                RequestRecord(method, unquote(path), params, secret, username, status, kind, body)
            )

    def requests_to(self, method: str, path_fragment: str) -> list[RequestRecord]:
        """Recorded requests with this method whose (decoded) path contains the fragment."""
        return [r for r in self.requests if r.method == method and path_fragment in r.path]
