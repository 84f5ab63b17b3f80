"""Merge request approvals through python-gitlab: the approval state, approve and unapprove with
GitLab's status codes, scope and access checks, and approvals required before a merge."""

from __future__ import annotations

import gitlab
import pytest
import requests

from tests.simulator.test_merge_requests import feature, merge_call


@pytest.fixture
def mr(world):
    feature(world)
    created = world.api("developer").mergerequests.create(
        {"source_branch": "feature", "target_branch": "main", "title": "Add feature"}
    )
    return created.iid


def approve_status(world, iid, who="maintainer", **payload) -> int:
    return requests.post(
        f"{world.sim.api_url}/projects/{world.project.id}/merge_requests/{iid}/approve",
        headers={"PRIVATE-TOKEN": world.tokens[who]} if who else {},
        json=payload,
        timeout=10,
    ).status_code


def test_approval_state_of_an_unapproved_merge_request(world, mr):
    state = world.api("reporter").mergerequests.get(mr).approvals.get()
    assert state.iid == mr and state.project_id == world.project.id
    assert state.approved_by == [] and state.user_has_approved is False
    assert (state.approvals_required, state.approvals_left, state.approved) == (0, 0, True)
    assert state.user_can_approve is False  # a Reporter cannot update the MR
    assert state.merge_status == "can_be_merged"
    mine = world.api("maintainer").mergerequests.get(mr).approvals.get()
    assert mine.user_can_approve is True


def test_approve_and_unapprove(world, mr):
    api = world.api("maintainer")
    merge_request = api.mergerequests.get(mr)
    answer = merge_request.approve()
    assert answer["user_has_approved"] is True and answer["user_can_approve"] is False
    assert [a["user"]["username"] for a in answer["approved_by"]] == ["maria"]
    assert answer["approved_by"][0]["approved_at"].endswith("Z")
    assert world.sim.approved_by(world.project, mr) == ["maria"]
    seen_by_reporter = world.api("reporter").mergerequests.get(mr).approvals.get()
    assert [a["user"]["username"] for a in seen_by_reporter.approved_by] == ["maria"]
    assert seen_by_reporter.user_has_approved is False
    notes = [n.body for n in api.mergerequests.get(mr).notes.list(get_all=True) if n.system]
    assert "approved this merge request" in notes

    merge_request.unapprove()
    assert world.sim.approved_by(world.project, mr) == []
    notes = [n.body for n in api.mergerequests.get(mr).notes.list(get_all=True) if n.system]
    assert "unapproved this merge request" in notes


def test_refusals_have_gitlabs_status_codes(world, mr):
    sim = world.sim
    cases = {
        "reporter": 403,  # may read the MR, may not update it
        "guest": 404,  # a Guest of a private project does not see its MRs
        "outsider": 404,
    }
    for who, status in cases.items():
        project = world.gl(who).projects.get(world.project.id, lazy=True)
        with pytest.raises(gitlab.GitlabMRApprovalError) as exc:
            project.mergerequests.get(mr, lazy=True).approve()
        assert exc.value.response_code == status, who
    assert approve_status(world, mr, who=None) == 401
    assert approve_status(world, 999) == 404

    read_only = sim.add_pat(world.users["maintainer"], ["read_api"], name="read-only")
    gl = gitlab.Gitlab(sim.url, private_token=read_only)
    with pytest.raises(gitlab.GitlabMRApprovalError) as exc:
        gl.projects.get(world.project.id, lazy=True).mergerequests.get(mr, lazy=True).approve()
    assert exc.value.response_code == 403
    assert "insufficient_scope" in exc.value.response_body.decode()
    assert gl.projects.get(world.project.id).mergerequests.get(mr).approvals.get().approved_by == []

    head = sim.branch_sha(world.project, "feature")
    with pytest.raises(gitlab.GitlabMRApprovalError) as exc:
        world.api().mergerequests.get(mr).approve(sha="0" * 40)
    assert exc.value.response_code == 409
    assert exc.value.error_message == f"SHA does not match HEAD of source branch: {head}"
    assert sim.approved_by(world.project, mr) == []

    world.api().mergerequests.get(mr).approve(sha=head)
    # Approving twice: GitLab's ApprovalService refuses, the API answers 401 (python-gitlab
    # raises its authentication error for any 401).
    with pytest.raises(gitlab.GitlabAuthenticationError) as exc:
        world.api().mergerequests.get(mr).approve()
    assert exc.value.response_code == 401
    with pytest.raises(gitlab.GitlabMRApprovalError) as exc:  # never approved
        world.api("bot").mergerequests.get(mr).unapprove()
    assert exc.value.response_code == 404
    with pytest.raises(gitlab.GitlabMRApprovalError) as exc:
        world.api("reporter").mergerequests.get(mr).unapprove()
    assert exc.value.response_code == 403
    assert sim.approved_by(world.project, mr) == ["maria"]


def test_the_author_may_approve_unless_the_project_prevents_it(world, mr):
    world.sim.require_approvals(world.project, 1, author_may_approve=False)
    with pytest.raises(gitlab.GitlabAuthenticationError) as exc:
        world.api("developer").mergerequests.get(mr).approve()
    assert exc.value.response_code == 401
    world.sim.require_approvals(world.project, 1, author_may_approve=True)
    world.api("developer").mergerequests.get(mr).approve()
    assert world.sim.approved_by(world.project, mr) == ["dev"]


def test_required_approvals_block_the_merge_until_given(world, mr):
    world.sim.require_approvals(world.project, 2)
    api = world.api()
    got = api.mergerequests.get(mr)
    assert got.detailed_merge_status == "not_approved"
    assert (got.approvals.get().approvals_left, got.approvals.get().approved) == (2, False)
    response = merge_call(world, mr)
    assert response.status_code == 405
    assert world.sim.merge_request(world.project, mr).state == "opened"

    api.mergerequests.get(mr).approve()
    assert merge_call(world, mr).status_code == 405  # one of two
    world.api("bot").mergerequests.get(mr).approve()
    state = api.mergerequests.get(mr).approvals.get()
    assert (state.approvals_required, state.approvals_left, state.approved) == (2, 0, True)
    assert api.mergerequests.get(mr).detailed_merge_status == "mergeable"
    assert merge_call(world, mr).status_code == 200
    assert world.sim.merge_request(world.project, mr).state == "merged"
