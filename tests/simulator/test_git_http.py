"""git clone / fetch / push over smart HTTP with token scopes and GitLab's push rules."""

from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()


def git(*args, cwd=None, check=True):
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(cwd or "/tmp"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_AUTHOR_NAME": "Tester",
        "GIT_AUTHOR_EMAIL": "tester@example.com",
        "GIT_COMMITTER_NAME": "Tester",
        "GIT_COMMITTER_EMAIL": "tester@example.com",
    }
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc


@pytest.fixture
def clone(world, tmp_path):
    def run(token, name="clone", check=True):
        return git(
            "clone",
            "-q",
            world.sim.clone_url(world.project, token),
            str(tmp_path / name),
            check=check,
        )

    return run


def commit_and_push(path, branch, filename="pushed.txt", force=False, check=True):
    if branch:
        git("checkout", "-q", "-B", branch, cwd=path)
    (path / filename).write_text("pushed\n")
    git("add", filename, cwd=path)
    git("commit", "-q", "-m", "Pushed", cwd=path)
    args = ["push", "-q", "origin", f"HEAD:refs/heads/{branch or 'main'}"]
    if force:
        args.insert(1, "--force")
    return git(*args, cwd=path, check=check)


def test_clone_with_live_token_and_fail_after_revoke(world, clone, tmp_path):
    token = world.tokens["reporter"]
    clone(token)
    assert (tmp_path / "clone" / "src" / "app.py").read_text() == "def main():\n    return 1\n"
    world.sim.revoke_token(token)
    failed = clone(token, "again", check=False)
    assert failed.returncode != 0
    assert "HTTP Basic: Access denied" in failed.stderr or "Authentication failed" in failed.stderr
    git_requests = [r for r in world.sim.requests if r.kind == "git"]
    assert git_requests[-1].status == 401


def test_any_username_with_token_and_no_credentials(world, tmp_path):
    url = world.sim.clone_url(world.project, world.tokens["reporter"], username="whoever")
    assert git("clone", "-q", url, str(tmp_path / "a"), check=False).returncode == 0
    anonymous = git(
        "clone", "-q", world.sim.clone_url(world.project), str(tmp_path / "b"), check=False
    )
    assert anonymous.returncode != 0


def test_fetch_scopes(world, clone):
    sim, bot = world.sim, world.users["bot"]
    assert clone(sim.add_pat(bot, ["read_repository"]), "r", check=False).returncode == 0
    assert clone(sim.add_pat(bot, ["read_api"]), "ra", check=False).returncode == 0
    assert clone(sim.add_pat(bot, ["read_user"]), "u", check=False).returncode != 0


def test_non_member_gets_not_found(world, clone):
    result = clone(world.tokens["outsider"], check=False)
    assert result.returncode != 0
    assert [r.status for r in world.sim.requests if r.kind == "git"][-1] == 404


def test_push_to_feature_branch_and_protected_branch(world, clone, tmp_path):
    token = world.sim.add_pat(world.users["developer"], ["write_repository"])
    clone(token)
    path = tmp_path / "clone"
    commit_and_push(path, "feature")
    assert world.sim.read_file(world.project, "pushed.txt", "feature") == b"pushed\n"
    rejected = commit_and_push(path, "main", "other.txt", check=False)
    assert rejected.returncode != 0
    assert (
        "GitLab: You are not allowed to push code to protected branches on this project."
        in rejected.stderr
    )
    assert world.sim.read_file(world.project, "other.txt") is None


def test_read_only_token_cannot_push(world, clone, tmp_path):
    token = world.sim.add_pat(world.users["developer"], ["read_repository"])
    clone(token)
    result = commit_and_push(tmp_path / "clone", "feature", check=False)
    assert result.returncode != 0
    assert world.sim.branch_sha(world.project, "feature") is None


def test_no_force_push_to_protected_branch(world, clone, tmp_path):
    token = world.tokens["maintainer"]
    clone(token)
    path = tmp_path / "clone"
    commit_and_push(path, None)  # a maintainer may push to main
    git("reset", "-q", "--hard", "HEAD~1", cwd=path)
    result = commit_and_push(path, None, "rewrite.txt", force=True, check=False)
    assert result.returncode != 0
    assert "not allowed to force push" in result.stderr
    commit_and_push(path, "scratch", "s.txt")
    git("reset", "-q", "--hard", "HEAD~1", cwd=path)
    assert commit_and_push(path, "scratch", "s2.txt", force=True, check=False).returncode == 0


def test_project_access_token_clone_then_revoked(world, clone):
    created = world.api("bot").access_tokens.create(
        {"name": "clone", "scopes": ["read_repository"], "access_level": 20, "expires_at": TOMORROW}
    )
    assert clone(created.token, "first").returncode == 0
    world.api("bot").access_tokens.delete(created.id)
    assert clone(created.token, "second", check=False).returncode != 0


def test_pushed_commits_show_in_the_merge_request(world, clone, tmp_path):
    token = world.tokens["developer"]
    mr = world.sim.add_merge_request(world.project, "feature", "main", world.users["developer"])
    clone(token)
    path = tmp_path / "clone"
    git("fetch", "-q", "origin", "feature", cwd=path)
    git("checkout", "-q", "-b", "feature", "FETCH_HEAD", cwd=path)
    commit_and_push(path, "feature")
    api_mr = world.api().mergerequests.get(mr.iid)
    assert api_mr.sha == world.sim.branch_sha(world.project, "feature")
    assert api_mr.changes_count == "1"
