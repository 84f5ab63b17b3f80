"""Branch writes on a GitLab before 15.11, where only Maintainers may read the protected
branches API (SPEC §7.3; THREATS T28; issue 17 item 6).

The per-job key of a pushing job is a Developer, so its own look-up gets 403 there. The tool
service then reads the rules with the bot's token, server-side (the bot is a Maintainer), and
still refuses writes to protected branches; when nothing can read them it fails closed.
"""

from __future__ import annotations

import pytest

from tests.gitlab_sim import OWNER
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db

PUSH = ("read", "push_branch")


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


def commit(world, token, branch):
    actions = [{"action": "create", "file_path": "NOTES.md", "content": "hi\n"}]
    return call(
        world,
        token,
        "commit_files",
        branch=branch,
        message="Agent change",
        actions=actions,
        start_branch="main",
    )


def lookups(world) -> list[tuple[str | None, int]]:
    path = f"/api/v4/projects/{world.project.id}/protected_branches"
    return [(r.username, r.status) for r in world.sim.requests if r.path == path]


@pytest.fixture
def legacy(world):
    world.sim.protected_branches_for_maintainers()
    return world


def test_a_developer_key_on_old_gitlab_still_writes_unprotected_branches(legacy):
    job, token = legacy.job(PUSH)
    status, body = call(legacy, token, "create_branch", branch="mate/fix")
    assert status == 200, body
    status, body = commit(legacy, token, "mate/other")
    assert status == 200, body
    key_user = legacy.key_user(job).username
    # the key was refused (403), the bot read the rules (200), nothing else ran as the bot
    assert lookups(legacy) == [(key_user, 403), ("mate-bot", 200)] * 2
    bot_calls = [
        r
        for r in legacy.sim.requests
        if r.username == "mate-bot" and "/access_tokens" not in r.path  # minting the key
    ]
    assert {(r.method, r.path.rsplit("/", 1)[-1]) for r in bot_calls} == {
        ("GET", "protected_branches")
    }
    writes = legacy.sim.requests_to("POST", "/repository/")
    assert writes and {r.username for r in writes} == {key_user}


@pytest.mark.parametrize("branch", ["stable", "release/1.0", "release/2.0"])
def test_protected_and_wildcard_protected_branches_are_still_refused(legacy, branch):
    job, token = legacy.job(PUSH)
    before = legacy.sim.repo(legacy.project).branches()
    for status, body in (
        call(legacy, token, "create_branch", branch=branch),
        commit(legacy, token, branch),
    ):
        assert (status, body["error"]["category"]) == (403, "permission"), body
        assert "protected branch" in body["error"]["message"]
    assert legacy.sim.repo(legacy.project).branches() == before
    reasons = ToolCall.objects.filter(job=job).values_list("denial_reason", flat=True)
    assert all(f"protected branch {branch}" in reason for reason in reasons)


def test_nothing_can_read_the_rules_so_branch_writes_are_refused(legacy):
    legacy.sim.state.protected_branches_read_level = OWNER  # not even the bot (a Maintainer)
    job, token = legacy.job(PUSH)
    status, body = call(legacy, token, "create_branch", branch="mate/fix")
    assert (status, body["error"]["category"]) == (403, "permission")
    assert "could not confirm the branch is unprotected" in body["error"]["message"]
    assert "mate/fix" not in legacy.sim.repo(legacy.project).branches()
    row = ToolCall.objects.get(job=job)
    assert row.outcome == "denied" and "403" in row.denial_reason


def test_a_job_on_the_bot_pat_asks_no_one_else(legacy):
    """Jobs without a per-job key already read as the bot: a 403 there is final."""
    legacy.sim.state.protected_branches_read_level = OWNER
    _, token = legacy.job(PUSH, mint_key=False)
    status, _ = call(legacy, token, "create_branch", branch="mate/fix")
    assert status == 403
    assert lookups(legacy) == [("mate-bot", 403)]
