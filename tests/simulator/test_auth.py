"""Authentication, token self-information, scopes and visibility."""

from __future__ import annotations

import datetime as dt

import gitlab
import pytest
import requests


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def get(world, path, token=None, **headers):
    if token:
        headers.setdefault("PRIVATE-TOKEN", token)
    return requests.get(f"{world.sim.api_url}{path}", headers=headers, timeout=10)


def test_current_user_through_python_gitlab(world):
    gl = world.gl("bot")
    gl.auth()
    assert gl.user.username == "mate-bot"
    assert gl.user.id == world.users["bot"].id
    assert gl.user.state == "active"
    assert gl.user.bot is False
    assert gl.user.web_url == f"{world.sim.url}/mate-bot"


def test_personal_access_token_self(world):
    expires = utc_today() + dt.timedelta(days=10)
    token = world.sim.add_pat(world.users["bot"], ["api", "read_repository"], expires, name="mate")
    info = gitlab.Gitlab(world.sim.url, private_token=token).personal_access_tokens.get("self")
    assert info.name == "mate"
    assert info.scopes == ["api", "read_repository"]
    assert info.active is True
    assert info.revoked is False
    assert info.expires_at == expires.isoformat()
    assert info.user_id == world.users["bot"].id
    assert {"id", "created_at", "last_used_at", "description"} <= set(info.attributes)


def test_token_self_works_with_any_scope(world):
    token = world.sim.add_pat(world.users["bot"], ["read_repository"])
    assert get(world, "/personal_access_tokens/self", token).status_code == 200


def test_bearer_header_and_private_token_parameter(world):
    token = world.tokens["bot"]
    assert get(world, "/user", Authorization=f"Bearer {token}").json()["username"] == "mate-bot"
    response = requests.get(f"{world.sim.api_url}/user?private_token={token}", timeout=10)
    assert response.json()["username"] == "mate-bot"


def test_missing_and_unknown_tokens_are_401(world):
    assert get(world, "/user").status_code == 401
    response = get(world, "/user", "glpat-notarealtoken000000")
    assert response.status_code == 401
    assert response.json() == {"message": "401 Unauthorized"}
    assert response.headers["Content-Type"] == "application/json"


def test_revoked_token_is_401(world):
    world.sim.revoke_token(world.tokens["bot"])
    response = get(world, "/user", world.tokens["bot"])
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "Token was revoked. You have to re-authorize from the user.",
    }
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    with pytest.raises(gitlab.GitlabAuthenticationError):
        world.gl("bot").auth()


def test_token_expires_at_midnight_of_its_date(world):
    token = world.sim.add_pat(world.users["bot"], ["api"], utc_today() + dt.timedelta(days=1))
    assert get(world, "/user", token).status_code == 200
    world.sim.travel(days=1)
    response = get(world, "/user", token)
    assert response.status_code == 401
    assert response.json()["error_description"].startswith("Token is expired")


def _at(day: dt.date, hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute, second), dt.UTC)


def test_token_works_until_the_last_second_before_its_expiry_date(world):
    """GitLab: ``expires_at`` is a date and the token is expired once it is <= the current time
    (app/models/concerns/expirable.rb, scope ``expired``: ``expires_at <= Time.current``; the
    date compares as its 00:00 UTC), for the API guard and for git over HTTP alike."""
    day = utc_today() + dt.timedelta(days=3)
    token = world.sim.add_pat(world.users["bot"], ["api", "read_repository"], day)
    info_refs = f"{world.sim.url}/{world.project.path_with_namespace}.git/info/refs"

    def clone_status() -> int:
        params = {"service": "git-upload-pack"}
        return requests.get(info_refs, params=params, auth=("x", token), timeout=10).status_code

    world.sim.set_clock(_at(day - dt.timedelta(days=1), 23, 59, 59))
    assert get(world, "/user", token).status_code == 200
    assert clone_status() == 200
    world.sim.set_clock(_at(day, 0, 0))
    response = get(world, "/user", token)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert response.json()["error_description"].startswith("Token is expired")
    assert clone_status() == 401


def test_the_clock_can_be_set_over_http(world):
    """``/-/sim/clock`` is the simulator's own control, for a simulator in another process."""
    url = f"{world.sim.url}/-/sim/clock"
    wanted = "2031-05-06T23:55:00+00:00"
    answer = requests.put(url, json={"now": wanted}, timeout=10)
    assert answer.status_code == 200
    now = dt.datetime.fromisoformat(requests.get(url, timeout=10).json()["now"])
    expected = dt.datetime.fromisoformat(wanted)
    assert expected <= now < expected + dt.timedelta(seconds=30)
    assert world.sim.state.today() == dt.date(2031, 5, 6)
    naive = requests.put(url, json={"now": "2031-05-06T23:55:00"}, timeout=10)
    assert naive.status_code == 400 and "UTC offset" in naive.json()["message"]
    assert requests.put(url, json={}, timeout=10).status_code == 400


def test_read_api_allows_get_only(world):
    token = world.sim.add_pat(world.users["maintainer"], ["read_api"])
    pid = world.project.id
    assert get(world, f"/projects/{pid}", token).status_code == 200
    response = requests.post(
        f"{world.sim.api_url}/projects/{pid}/issues",
        headers={"PRIVATE-TOKEN": token},
        json={"title": "x"},
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "The request requires higher privileges than provided by the access token.",
        "scope": "api",
    }
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


def test_repository_scopes_do_not_open_the_api(world):
    token = world.sim.add_pat(world.users["maintainer"], ["read_repository", "write_repository"])
    response = get(world, f"/projects/{world.project.id}", token)
    assert response.status_code == 403
    assert response.json()["scope"] == "api read_api"


def test_read_user_scope_reads_user_only(world):
    token = world.sim.add_pat(world.users["maintainer"], ["read_user"])
    assert get(world, "/user", token).status_code == 200
    assert get(world, f"/projects/{world.project.id}", token).status_code == 403


def test_blocked_user_is_refused(world):
    world.sim.set_user_state(world.users["bot"], "blocked")
    response = get(world, "/user", world.tokens["bot"])
    assert response.status_code == 403
    assert response.json() == {"message": "403 Forbidden - Your account has been blocked."}


def test_non_members_do_not_see_private_projects(world):
    for ref in (world.project.id, "acme%2Fwidgets"):
        response = get(world, f"/projects/{ref}", world.tokens["outsider"])
        assert response.status_code == 404
        assert response.json() == {"message": "404 Project Not Found"}
    assert get(world, f"/projects/{world.project.id}").status_code == 404
    with pytest.raises(gitlab.GitlabGetError) as exc:
        world.gl("outsider").projects.get("acme/widgets")
    assert exc.value.response_code == 404


def test_public_project_is_readable_anonymously(world):
    world.sim.add_project("acme/public", visibility="public")
    response = requests.get(
        f"{world.sim.api_url}/projects/acme%2Fpublic/repository/files/README.md?ref=main",
        timeout=10,
    )
    assert response.status_code == 200


def test_project_by_path_and_permissions(world):
    project = world.gl("developer").projects.get("acme/widgets")
    assert project.id == world.project.id
    assert project.path_with_namespace == "acme/widgets"
    assert project.default_branch == "main"
    assert project.http_url_to_repo == f"{world.sim.url}/acme/widgets.git"
    assert project.permissions["project_access"]["access_level"] == 30
    assert project.namespace["full_path"] == "acme"


def test_non_get_without_token_is_401(world):
    response = requests.post(
        f"{world.sim.api_url}/projects/{world.project.id}/issues", json={"title": "x"}, timeout=10
    )
    assert response.status_code == 401


def test_unknown_route_is_grape_404(world):
    response = get(world, "/no/such/thing", world.tokens["bot"])
    assert response.status_code == 404
    assert response.json() == {"error": "404 Not Found"}


def test_members_endpoint(world):
    member = world.api("bot").members_all.get(world.users["bot"].id)
    assert member.access_level == 40
    assert len(world.api("bot").members_all.list(get_all=True)) == 5


def test_requests_are_recorded(world):
    world.gl("bot").projects.get("acme/widgets")
    record = world.sim.requests[-1]
    assert record.method == "GET"
    assert record.path == "/api/v4/projects/acme/widgets"
    assert record.token == world.tokens["bot"]
    assert record.username == "mate-bot"
    assert record.status == 200
    assert record.kind == "api"
    assert world.sim.requests_to("GET", "/projects/acme/widgets")
