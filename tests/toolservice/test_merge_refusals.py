"""GitLab's refusals of a merge reach the agent as ``conflict``, the category the tool
promises, with a message naming why (SPEC §7.2, §7.4; issue 17 item 7).

PUT /projects/:id/merge_requests/:iid/merge (lib/api/merge_requests.rb): 401 the caller may
not merge (a valid token), 405 not mergeable now, 409 ``sha`` is not the head, 422 the merge
failed (406 on older GitLab). The simulator gives 401, 405 and 422 for real (its fidelity
tests: tests/simulator/test_merge_requests.py); 409 needs the head to move between Mate's
read and its merge, and 406 an older GitLab, so those two are GitLab's answers injected.
"""

from __future__ import annotations

import gitlab
import pytest

from tests.gitlab_sim import MAINTAINER
from toolservice import errors
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db

MERGE = ("read", "merge")


def merge(world, token):
    response = world.client(token).post("/tools/merge_merge_request", {}, format="json")
    return response.status_code, response.json()


def refused(world, job, token, why: str) -> dict:
    before = world.sim.repo(world.project).branches()
    status, body = merge(world, token)
    assert (status, body["error"]["category"]) == (409, "conflict"), body
    assert why in body["error"]["message"]
    assert world.sim.merge_request(world.project, world.mr.iid).state == "opened"
    assert world.sim.repo(world.project).branches() == before
    row = ToolCall.objects.get(job=job, tool="merge_merge_request")
    assert (row.outcome, row.error_category) == ("error", "conflict")
    return body


def gitlab_answered(world) -> list[int]:
    path = f"/merge_requests/{world.mr.iid}/merge"
    return [r.status for r in world.sim.requests_to("PUT", path)]


def test_a_key_that_may_not_merge_gets_conflict_not_auth(world):
    world.sim.protect_branch(world.project, "main", MAINTAINER, MAINTAINER)
    job, token = world.job(MERGE, kind="merge_request")
    refused(world, job, token, "does not allow the job to merge")
    assert gitlab_answered(world) == [401]


def test_a_merge_request_not_mergeable_now_is_a_conflict(world):
    world.sim.update_merge_request(world.project, world.mr.iid, world.human, title="Draft: wip")
    job, token = world.job(MERGE, kind="merge_request")
    refused(world, job, token, "cannot merge this merge request now")
    assert gitlab_answered(world) == [405]


def test_a_failed_merge_is_a_conflict_not_validation(world):
    world.sim.fail_next_merge(world.project)
    job, token = world.job(MERGE, kind="merge_request")
    refused(world, job, token, "could not merge the branch")
    assert gitlab_answered(world) == [422]


@pytest.mark.parametrize(
    ("status", "message", "why"),
    [
        (409, "SHA does not match HEAD of source branch: " + "a" * 40, "SHA mismatch"),
        (406, "Branch cannot be merged", "could not merge the branch"),
    ],
)
def test_gitlab_answers_that_need_a_race_or_an_older_gitlab(world, status, message, why):
    world.sim.fail_next(status=status, body={"message": message}, method="PUT", path="/merge")
    job, token = world.job(MERGE, kind="merge_request")
    body = refused(world, job, token, why)
    assert message not in str(body)  # GitLab's own text never reaches the agent


def test_only_the_merge_tool_reads_these_codes_its_way():
    """The table is per tool: the same codes elsewhere keep their default categories."""
    assert set(errors.TOOL_STATUSES) == {"merge_merge_request"}
    for status, category in ((401, errors.UPSTREAM), (422, errors.VALIDATION)):
        exc = gitlab.exceptions.GitlabHttpError("refused", status, b"")
        assert errors.from_gitlab(exc, "get_issue").category == category
        assert errors.from_gitlab(exc, "merge_merge_request").category == errors.CONFLICT
