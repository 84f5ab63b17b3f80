"""Project access tokens: create (bot member), list, revoke, refusals."""

from __future__ import annotations

import datetime as dt
import re

import gitlab
import pytest
import requests


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


TOMORROW = (utc_today() + dt.timedelta(days=1)).isoformat()


def create(world, who="bot", project=None, **payload):
    body = {
        "name": "mate-job-1",
        "scopes": ["api", "write_repository"],
        "access_level": 30,
        "expires_at": TOMORROW,
    }
    body.update(payload)
    pid = (project or world.project).id
    return requests.post(
        f"{world.sim.api_url}/projects/{pid}/access_tokens",
        headers={"PRIVATE-TOKEN": world.tokens[who]},
        json={k: v for k, v in body.items() if v is not None},
        timeout=10,
    )


def test_create_returns_token_once_and_adds_bot_member(world):
    token = world.api("bot").access_tokens.create(
        {
            "name": "mate-job-1",
            "scopes": ["api", "write_repository"],
            "access_level": 30,
            "expires_at": TOMORROW,
        }
    )
    assert re.fullmatch(r"glpat-[A-Za-z0-9_-]{20}", token.token)
    assert token.name == "mate-job-1"
    assert token.scopes == ["api", "write_repository"]
    assert token.access_level == 30
    assert token.expires_at == TOMORROW
    assert token.active is True and token.revoked is False
    bot_user = world.sim.user(token.user_id)
    assert bot_user.bot is True and bot_user.username.startswith(f"project_{world.project.id}_bot_")
    assert world.project.members[bot_user.id] == 30
    gl = gitlab.Gitlab(world.sim.url, private_token=token.token)
    gl.auth()
    assert gl.user.bot is True
    assert gl.projects.get(world.project.id).permissions["project_access"]["access_level"] == 30
    listed = world.api("bot").access_tokens.list(get_all=True)
    assert [t.id for t in listed] == [token.id]
    assert "token" not in listed[0].attributes


def test_project_token_sees_only_its_project(world):
    other = world.sim.add_project("acme/other", members={world.users["bot"]: 40})
    token = create(world).json()["token"]
    response = requests.get(
        f"{world.sim.api_url}/projects/{other.id}", headers={"PRIVATE-TOKEN": token}, timeout=10
    )
    assert response.status_code == 404


def test_revoke_makes_token_401(world):
    data = create(world).json()
    project = world.api("bot")
    project.access_tokens.delete(data["id"])
    assert world.sim.requests[-1].status == 204
    response = requests.get(
        f"{world.sim.api_url}/user", headers={"PRIVATE-TOKEN": data["token"]}, timeout=10
    )
    assert response.status_code == 401
    assert data["user_id"] not in world.project.members
    assert project.access_tokens.list(get_all=True)[0].revoked is True
    missing = requests.delete(
        f"{world.sim.api_url}/projects/{world.project.id}/access_tokens/9999",
        headers={"PRIVATE-TOKEN": world.tokens["bot"]},
        timeout=10,
    )
    assert (missing.status_code, missing.json()) == (
        404,
        {"message": "404 project Access Token Not Found"},
    )


def test_developer_cannot_create_or_list(world):
    response = create(world, "developer")
    assert response.status_code == 400
    assert response.json() == {
        "message": "400 Bad request - User does not have permission to create project access token"
    }
    listing = requests.get(
        f"{world.sim.api_url}/projects/{world.project.id}/access_tokens",
        headers={"PRIVATE-TOKEN": world.tokens["developer"]},
        timeout=10,
    )
    assert listing.status_code == 401


def test_plan_without_project_access_tokens(world):
    world.project.access_tokens_allowed = False
    response = create(world)
    assert response.status_code == 400
    assert "does not have permission" in response.json()["message"]
    with pytest.raises(gitlab.GitlabCreateError):
        world.api("bot").access_tokens.create(
            {"name": "x", "scopes": ["api"], "expires_at": TOMORROW}
        )


def test_expiry_rules(world):
    assert create(world, expires_at=utc_today().isoformat()).status_code == 400
    assert create(world, expires_at="2001-01-01").json() == {
        "message": "400 Bad request - Expiration date must be in the future"
    }
    assert create(world, expires_at="not-a-date").json() == {"error": "expires_at is invalid"}
    far = (utc_today() + dt.timedelta(days=400)).isoformat()
    assert create(world, expires_at=far).status_code == 400
    defaulted = create(world, expires_at=None).json()
    assert defaulted["expires_at"] == (utc_today() + dt.timedelta(days=365)).isoformat()


def test_parameter_and_level_checks(world):
    assert create(world, name=None).json() == {"error": "name is missing"}
    assert create(world, scopes=["everything"]).json() == {
        "error": "scopes does not have a valid value"
    }
    assert create(world, access_level=35).json() == {
        "error": "access_level does not have a valid value"
    }
    owner_level = create(world, access_level=50)
    assert owner_level.json() == {
        "message": "400 Bad request - Access level of the token contains permissions not held by the creating user"
    }


def test_project_token_expires(world):
    token = create(world).json()["token"]
    headers = {"PRIVATE-TOKEN": token}
    assert requests.get(f"{world.sim.api_url}/user", headers=headers, timeout=10).status_code == 200
    world.sim.travel(days=1)
    assert requests.get(f"{world.sim.api_url}/user", headers=headers, timeout=10).status_code == 401
