"""Writes made with a project access token are its bot user's, webhooks included (T32).

On GitLab a project access token acts as its own user, `project_<id>_bot_<hex>` (GitLab's
ResourceAccessTokens::CreateService), and the create response carries that user's `user_id`
(REST "Project access tokens": id, name, revoked, created_at, description, scopes, user_id,
last_used_at, active, expires_at, access_level, token). Notes, merge requests and commits
written with the token are authored by that user, and the Note Hook / Merge Request Hook that
follow carry it as `user` and as `object_attributes.author_id`.
"""

from __future__ import annotations

import datetime as dt
import re

import gitlab

from tests.gitlab_sim import MAINTAINER


def _key(world, level: int = 30):
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    created = world.api("bot").access_tokens.create(
        {
            "name": "mate-job-1",
            "scopes": ["api", "write_repository"],
            "access_level": level,
            "expires_at": tomorrow,
        }
    )
    return created, gitlab.Gitlab(world.sim.url, private_token=created.token)


def test_create_response_names_the_tokens_user(world):
    created, gl = _key(world)
    assert set(created.attributes) >= {
        "id",
        "name",
        "revoked",
        "created_at",
        "scopes",
        "user_id",
        "active",
        "expires_at",
        "access_level",
        "token",
    }
    gl.auth()
    assert gl.user.id == created.user_id
    assert re.fullmatch(rf"project_{world.project.id}_bot_[0-9a-f]{{32}}", gl.user.username)
    assert gl.user.bot is True
    # the listing shows the same user, without the secret
    (listed,) = world.api("bot").access_tokens.list(get_all=True)
    assert listed.user_id == created.user_id and "token" not in listed.attributes


def test_notes_and_their_hooks_are_the_tokens_user(world, receiver):
    world.sim.add_hook(world.project, receiver.url, token="s3cret")
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    created, gl = _key(world)
    project = gl.projects.get(world.project.id, lazy=True)
    note = project.issues.get(1, lazy=True).notes.create({"body": "@mate-bot look"})
    assert note.author["id"] == created.user_id
    world.sim.wait_for_deliveries()
    hook = receiver.json()
    assert receiver.requests[-1]["headers"]["X-Gitlab-Event"] == "Note Hook"
    assert hook["user"]["id"] == created.user_id
    assert hook["user"]["username"].startswith(f"project_{world.project.id}_bot_")
    assert hook["object_attributes"]["author_id"] == created.user_id


def test_commits_branches_and_mrs_are_the_tokens_user(world, receiver):
    world.sim.add_hook(world.project, receiver.url, token="s3cret")
    created, gl = _key(world)
    bot = world.sim.user(created.user_id)
    project = gl.projects.get(world.project.id)
    project.branches.create({"branch": "mate/base", "ref": "main"})
    commit = project.commits.create(
        {
            "branch": "mate/fix",
            "start_branch": "main",
            "commit_message": "Fix",
            "actions": [{"action": "create", "file_path": "fix.txt", "content": "x\n"}],
        }
    )
    assert (commit.author_name, commit.author_email) == (bot.name, bot.email)
    assert (commit.committer_name, commit.committer_email) == (bot.name, bot.email)
    assert set(world.sim.repo(world.project).branches()) >= {"mate/base", "mate/fix"}
    mr = project.mergerequests.create(
        {
            "source_branch": "mate/fix",
            "target_branch": "main",
            "title": "Fix",
            "assignee_ids": [world.users["bot"].id],
        }
    )
    assert mr.author["id"] == created.user_id
    assert [a["id"] for a in mr.assignees] == [world.users["bot"].id]
    world.sim.wait_for_deliveries()
    hook = receiver.json()
    assert receiver.requests[-1]["headers"]["X-Gitlab-Event"] == "Merge Request Hook"
    assert hook["object_attributes"]["action"] == "open"
    assert hook["user"]["id"] == created.user_id
    assert hook["object_attributes"]["author_id"] == created.user_id
    assert [a["id"] for a in hook["assignees"]] == [world.users["bot"].id]


def test_revoked_tokens_user_stays_the_author(world):
    """Revocation removes the bot from the project; what it wrote keeps its author id."""
    world.sim.add_issue(world.project, "Broken", "", world.users["reporter"])
    created, gl = _key(world, level=MAINTAINER)
    gl.projects.get(world.project.id, lazy=True).issues.get(1, lazy=True).notes.create(
        {"body": "done"}
    )
    world.api("bot").access_tokens.delete(created.id)
    assert created.user_id not in world.project.members
    (note,) = world.api("maintainer").issues.get(1).notes.list(get_all=True)
    assert note.author["id"] == created.user_id
