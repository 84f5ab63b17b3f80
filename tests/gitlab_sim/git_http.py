"""Git smart HTTP through git-http-backend (CGI), with GitLab's authentication and rules."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

from .auth import basic_auth, git_token
from .gitrepo import GIT_HTTP_BACKEND, base_env
from .models import DEVELOPER, GIT_FETCH_SCOPES, GIT_PUSH_SCOPES
from .routing import Response

if TYPE_CHECKING:
    from .sim import GitLabSim

ACCESS_DENIED = (
    b"HTTP Basic: Access denied. If a password was provided for Git authentication, the password "
    b"was incorrect or you're required to use a token instead of a password. If a token was "
    b"provided, it was either incorrect, expired, or improperly scoped. See "
    b"http://127.0.0.1/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied\n"
)
NOT_FOUND = b"The project you were looking for could not be found or you don't have permission to view it.\n"


def _text(status: int, body: bytes, headers: dict | None = None) -> Response:
    return Response(status, body, headers or {}, content_type="text/plain")


def handle(
    sim: GitLabSim,
    method: str,
    project_path: str,
    rest: str,
    query: str,
    headers: dict,
    body: bytes,
) -> Response:
    service = "git-receive-pack" if "git-receive-pack" in (rest + query) else "git-upload-pack"
    push = service == "git-receive-pack"
    with sim.state.lock:
        response, env = _authorize(sim, project_path, push, headers)
    if response is None:
        response = _run_backend(sim, method, project_path, rest, query, headers, body, env)
        if push and method == "POST":
            with sim.state.lock:
                sim.refresh_merge_request_refs(sim.state.require_project(project_path))
    creds = basic_auth(headers)
    secret = creds[1] if creds else None
    sim._record(method, f"/{project_path}.git/{rest}", query, secret, response.status, "git")
    return response


def _authorize(sim: GitLabSim, project_path: str, push: bool, headers: dict):
    state = sim.state
    project = state.project(project_path)
    token, offered = git_token(state, headers)
    if offered and token is None:
        return _text(401, ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'}), None
    user = state.users[token.user_id] if token else None
    if project is None or not state.can_see(user, project):
        if user is None:  # ask for credentials first, as GitLab does
            return _text(401, ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'}), None
        return _text(404, NOT_FOUND), None
    if push:
        if user is None:
            return _text(401, ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'}), None
        if not set(token.scopes) & GIT_PUSH_SCOPES or state.access_level(user, project) < DEVELOPER:
            return _text(403, b"You are not allowed to push code to this project.\n"), None
    else:
        if token is not None and not set(token.scopes) & GIT_FETCH_SCOPES:
            return _text(403, b"You are not allowed to download code from this project.\n"), None
        if not state.can_read_code(user, project):
            if user is None:
                return _text(401, ACCESS_DENIED, {"WWW-Authenticate": 'Basic realm="GitLab"'}), None
            return _text(403, b"You are not allowed to download code from this project.\n"), None
    policy = {
        "access_level": state.access_level(user, project),
        "default_branch": project.default_branch,
        "protected": [
            {
                "name": rule.name,
                "push_access_level": rule.push_access_level,
                "allow_force_push": rule.allow_force_push,
            }
            for rule in project.protected_branches
        ],
    }
    env = {
        "PATH_INFO": f"/{project.path_with_namespace}.git",
        "REMOTE_USER": user.username if user else "",
        "SIM_PUSH_POLICY": json.dumps(policy),
    }
    return None, env


def _run_backend(
    sim: GitLabSim, method, project_path, rest, query, headers, body, auth_env
) -> Response:
    env = base_env(sim.root / "home")
    env.update(
        {
            "GIT_PROJECT_ROOT": str(sim.root / "repos"),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"{auth_env['PATH_INFO']}/{rest}",
            "QUERY_STRING": query,
            "REQUEST_METHOD": method,
            "CONTENT_TYPE": headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_ADDR": "127.0.0.1",
            "SIM_PUSH_POLICY": auth_env["SIM_PUSH_POLICY"],
        }
    )
    if auth_env["REMOTE_USER"]:
        env["REMOTE_USER"] = auth_env["REMOTE_USER"]
    if headers.get("git-protocol"):
        env["GIT_PROTOCOL"] = headers["git-protocol"]
        env["HTTP_GIT_PROTOCOL"] = headers["git-protocol"]
    if headers.get("content-encoding"):
        env["HTTP_CONTENT_ENCODING"] = headers["content-encoding"]
    proc = subprocess.run([GIT_HTTP_BACKEND], input=body, capture_output=True, env=env, check=False)
    raw = proc.stdout
    head, sep, payload = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = raw.partition(b"\n\n")
    status = 200
    out_headers: dict[str, str] = {}
    content_type = "application/octet-stream"
    for line in head.decode(errors="replace").splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key.lower() == "content-type":
            content_type = value
        elif key:
            out_headers[key] = value
    return Response(status, payload, out_headers, content_type=content_type)
