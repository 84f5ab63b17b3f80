"""T46: a canceled job keeps writing while its container stops.

From the moment a cancel is requested (or a timeout or budget stops the job), the job
credential is refused for every tool call: ``auth`` (401), nothing reaches GitLab, no ref moves.
The job here is a real job row with a real credential and a per-job key minted at the
simulator; the cancel is the console's service (``lifecycle.cancel_job``) and the worker's move
to FINISHING is ``lifecycle.transition``, as the supervising worker does it.
"""

from __future__ import annotations

import pytest

from jobs.models import Job, JobStatus
from jobs.services import lifecycle
from tests.toolservice.conftest import World, _tool_service_urls, world

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = pytest.mark.django_db

PUSH = ("read", "push_branch", "push_mr_branch")


def commit(world: World, token: str, path: str = "late.txt") -> tuple[int, dict]:
    response = world.client(token).post(
        "/tools/commit_files",
        {
            "branch": "feature/login",
            "message": "one more thing",
            "actions": [{"action": "create", "file_path": path, "content": "late\n"}],
        },
        format="json",
    )
    return response.status_code, response.json()


def refs(world: World) -> dict[str, str]:
    return world.sim.repo(world.project).branches()


def test_commit_files_after_cancel_while_finishing_is_401_and_changes_nothing(world):
    job, token = world.job(PUSH, kind="merge_request")
    assert commit(world, token, "early.txt")[0] == 200  # the credential works while it runs
    before = refs(world)
    assert lifecycle.cancel_job(job, "operator pressed Cancel")
    job.refresh_from_db()
    assert lifecycle.transition(job, JobStatus.FINISHING, reason="operator pressed Cancel")
    assert Job.objects.get(pk=job.pk).status == JobStatus.FINISHING
    world.sim.requests.clear()
    status, body = commit(world, token)
    assert status == 401, body
    assert body["error"]["category"] == "auth"
    assert refs(world) == before
    assert not world.sim.requests  # GitLab never heard of it


def test_refused_from_the_cancel_request_on_before_the_worker_acts(world):
    job, token = world.job(PUSH, kind="merge_request")
    before = refs(world)
    assert lifecycle.cancel_job(job, "operator pressed Cancel")
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING  # the worker has not acted
    assert commit(world, token)[0] == 401
    assert world.client(token).get("/tools/").status_code == 401
    assert refs(world) == before


def test_refused_once_a_timeout_moves_the_job_to_finishing(world):
    """A timeout or budget stop sets no cancel request: FINISHING alone ends the credential."""
    job, token = world.job(PUSH, kind="merge_request")
    before = refs(world)
    assert lifecycle.transition(job, JobStatus.FINISHING, reason="wall-clock timeout of 600 s")
    assert Job.objects.get(pk=job.pk).cancel_requested_at is None
    assert commit(world, token)[0] == 401
    assert refs(world) == before


def test_the_same_refusal_on_the_mcp_transport(world):
    job, token = world.job(PUSH, kind="merge_request")
    assert lifecycle.cancel_job(job, "operator pressed Cancel")
    before = refs(world)
    response = world.client(token).post(
        "/mcp",
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {
                "name": "commit_files",
                "arguments": {
                    "branch": "feature/login",
                    "message": "m",
                    "actions": [{"action": "create", "file_path": "x.txt", "content": "x"}],
                },
            },
        },
        format="json",
    )
    assert response.status_code == 401
    assert refs(world) == before
