"""GitLab's offset pagination headers and 429 rate limiting."""

from __future__ import annotations

import gitlab
import pytest
import requests


@pytest.fixture
def many_issues(world):
    for i in range(45):
        world.sim.add_issue(world.project, f"Issue {i}", "", world.users["reporter"])
    return world


def test_headers_and_link(many_issues):
    world = many_issues
    url = f"{world.sim.api_url}/projects/{world.project.id}/issues"
    response = requests.get(
        url, headers={"PRIVATE-TOKEN": world.tokens["bot"]}, params={"state": "opened"}, timeout=10
    )
    assert len(response.json()) == 20
    headers = response.headers
    assert headers["X-Page"] == "1"
    assert headers["X-Per-Page"] == "20"
    assert headers["X-Total"] == "45"
    assert headers["X-Total-Pages"] == "3"
    assert headers["X-Next-Page"] == "2"
    assert headers["X-Prev-Page"] == ""
    assert response.links["next"]["url"] == f"{url}?state=opened&page=2&per_page=20"
    assert response.links["last"]["url"].endswith("page=3&per_page=20")
    assert "prev" not in response.links
    last = requests.get(
        response.links["last"]["url"], headers={"PRIVATE-TOKEN": world.tokens["bot"]}, timeout=10
    )
    assert len(last.json()) == 5
    assert last.headers["X-Next-Page"] == "" and last.headers["X-Prev-Page"] == "2"
    assert "next" not in last.links and "prev" in last.links


def test_per_page_is_capped_at_100(many_issues):
    world = many_issues
    response = requests.get(
        f"{world.sim.api_url}/projects/{world.project.id}/issues?per_page=500",
        headers={"PRIVATE-TOKEN": world.tokens["bot"]},
        timeout=10,
    )
    assert response.headers["X-Per-Page"] == "100"
    assert len(response.json()) == 45


def test_python_gitlab_iterates_all_pages(many_issues):
    world = many_issues
    project = world.api("bot")
    assert len(project.issues.list(get_all=True)) == 45
    lazy = project.issues.list(iterator=True, per_page=10)
    assert lazy.total == 45 and lazy.total_pages == 5
    assert len(list(lazy)) == 45
    assert len(project.issues.list(get_all=False)) == 20
    pages = [
        r.query["page"]
        for r in world.sim.requests
        if r.path.endswith("/issues") and "page" in r.query
    ]
    assert "5" in pages


def test_rate_limit_429_with_retry_after(world):
    world.sim.rate_limit_next(2, retry_after=7)
    headers = {"PRIVATE-TOKEN": world.tokens["bot"]}
    for _ in range(2):
        response = requests.get(f"{world.sim.api_url}/user", headers=headers, timeout=10)
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "7"
        assert response.headers["RateLimit-Remaining"] == "0"
        assert response.text == "Retry later\n"
    assert requests.get(f"{world.sim.api_url}/user", headers=headers, timeout=10).status_code == 200
    assert [r.status for r in world.sim.requests] == [429, 429, 200]


def test_python_gitlab_obeys_retry_after(world):
    world.sim.rate_limit_next(3, retry_after=0)
    gl = world.gl("bot")
    gl.auth()
    assert gl.user.username == "mate-bot"
    assert [r.status for r in world.sim.requests] == [429, 429, 429, 200]


def test_python_gitlab_gives_up_without_retries(world):
    world.sim.rate_limit_next(1, retry_after=0)
    with pytest.raises(gitlab.GitlabGetError) as exc:
        world.gl("bot").projects.get(world.project.id, max_retries=0)
    assert exc.value.response_code == 429
