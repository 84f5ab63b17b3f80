"""Fault injection (``fail_next``) and the instance token prefix."""

from __future__ import annotations

import re

import gitlab
import pytest
import requests


def test_fail_next_answers_matching_requests_then_serves_again(world):
    sim = world.sim
    sim.fail_next(2, 502, {"message": "502 Bad Gateway"}, method="GET", path="/issues")
    headers = {"PRIVATE-TOKEN": world.tokens["bot"]}
    issues = f"{sim.api_url}/projects/{world.project.id}/issues"
    assert requests.get(f"{sim.api_url}/user", headers=headers, timeout=10).status_code == 200
    for _ in range(2):
        answer = requests.get(issues, headers=headers, timeout=10)
        assert (answer.status_code, answer.json()) == (502, {"message": "502 Bad Gateway"})
    assert requests.get(issues, headers=headers, timeout=10).status_code == 200
    assert [r.status for r in sim.requests] == [200, 502, 502, 200]


def test_a_reflecting_fault_echoes_the_request_and_python_gitlab_raises(world):
    sim = world.sim
    sim.fail_next(method="POST", path="/notes", reflect=True)
    sim.add_issue(world.project, "Broken", "details", world.users["maintainer"])
    issue = world.api("bot").issues.get(1)
    with pytest.raises(gitlab.GitlabCreateError) as exc:
        issue.notes.create({"body": "hello there"})
    assert exc.value.response_code == 500
    body = exc.value.response_body.decode()
    assert world.tokens["bot"] in body and "hello there" in body
    assert sim.issue(world.project, 1).notes == []  # nothing was served
    issue.notes.create({"body": "hello again"})
    assert [n.body for n in sim.issue(world.project, 1).notes] == ["hello again"]


def test_the_instance_token_prefix_applies_to_new_tokens(world):
    sim = world.sim
    assert re.fullmatch(r"glpat-[A-Za-z0-9_-]{20}", world.tokens["bot"])
    sim.token_prefix = "acme-"
    pat = sim.add_pat(world.users["bot"], ["api"], name="prefixed")
    assert re.fullmatch(r"acme-[A-Za-z0-9_-]{20}", pat)
    created = world.api("bot").access_tokens.create(
        {"name": "job", "scopes": ["api"], "access_level": 30}
    )
    assert created.token.startswith("acme-")
    assert gitlab.Gitlab(sim.url, private_token=created.token).projects.get(world.project.id)
