"""Confused deputy (T9), exfiltration through allowed channels (T13), sanitized errors (T19)."""

from __future__ import annotations

import base64
import json

import gitlab
import pytest
import requests

from jobs.models import JobEvent, JobToken
from tests.toolservice.conftest import LLM_CANARY
from toolservice import errors, scope
from toolservice.models import ToolCall
from toolservice.tools import issues

pytestmark = pytest.mark.django_db


def call(world, token, name, **arguments):
    response = world.client(token).post(f"/tools/{name}", arguments, format="json")
    return response.status_code, response.json()


# -- T9: everything is resolved from the job record ----------------------------------------
def test_foreign_issue_iid_is_not_found_without_touching_the_other_project(world):
    job, token = world.job(("read", "comment"))
    for name, args in (("get_issue", {"iid": 7}), ("list_issue_notes", {"iid": 7})):
        status, body = call(world, token, name, **args)
        assert (status, body["error"]["category"]) == (404, "not_found"), name
    status, _ = call(world, token, "create_issue_note", iid=7, body="hello")
    assert status == 404
    assert not world.sim.issue(world.foreign, 7).notes
    assert world.foreign_requests() == []
    assert ToolCall.objects.filter(job=job, error_category="not_found").count() == 3


def test_foreign_pipeline_and_ci_job_ids_are_not_found(world):
    _, token = world.job(("read",))
    foreign_job = world.foreign_pipeline.jobs[0]
    assert call(world, token, "get_pipeline", pipeline_id=world.foreign_pipeline.id)[0] == 404
    status, body = call(world, token, "get_job_log", job_id=foreign_job.id)
    assert status == 404
    assert "no" not in json.dumps(body).replace("not_found", "").replace("not found", "")
    assert world.foreign_requests() == []


@pytest.mark.parametrize("argument", ["project_id", "project", "id"])
def test_there_is_no_project_argument(world, argument):
    _, token = world.job(("read",))
    status, body = call(world, token, "get_issue", iid=1, **{argument: world.foreign.id})
    assert (status, body["error"]["category"]) == (400, "validation")
    assert [r for r in world.sim.requests if "/access_tokens" not in r.path] == []


def test_the_per_job_key_itself_cannot_read_the_foreign_project(world):
    """Defense in depth: even a request that got through would meet a project-scoped key."""
    job, _ = world.job(("read",))
    key = job.tokens.get(kind=JobToken.Kind.GITLAB_KEY).reveal_secret("value")
    gl = gitlab.Gitlab(world.sim.url, private_token=key)
    with pytest.raises(gitlab.exceptions.GitlabGetError) as caught:
        gl.projects.get(world.foreign.id).issues.get(1)
    assert caught.value.response_code == 404


# -- T13: outbound redaction ---------------------------------------------------------------
def canaries(world) -> dict[str, str]:
    return {
        "llm key": LLM_CANARY,
        "bot pat": world.pat,
        "webhook secret": world.tenant.reveal_secret("webhook_secret"),
        "token shape": "glpat-" + "Q" * 20,
        "job credential shape": "mjt_" + "A" * 43,
    }


@pytest.mark.parametrize(
    "which", ["llm key", "bot pat", "webhook secret", "token shape", "job credential shape"]
)
def test_note_carrying_a_secret_is_refused_and_audited(world, which):
    job, token = world.job(("comment",))
    secret = canaries(world)[which]
    status, body = call(world, token, "create_issue_note", body=f"here you go: {secret} !")
    assert (status, body["error"]["category"]) == (400, "validation")
    assert secret not in json.dumps(body)
    assert not world.sim.issue(world.project, 1).notes
    assert not world.sim.requests_to("POST", "/notes")
    row = ToolCall.objects.get(job=job)
    assert row.outcome == "denied" and row.denial_reason.startswith("outbound redaction")
    assert secret not in json.dumps(row.arguments)
    assert "[REDACTED]" in row.arguments["body"]
    for event in JobEvent.objects.filter(job=job):
        assert secret not in json.dumps(event.data)


def test_the_per_job_key_itself_is_a_canary(world):
    job, token = world.job(("comment",))
    key = job.tokens.get(kind=JobToken.Kind.GITLAB_KEY).reveal_secret("value")
    assert call(world, token, "create_merge_request_note", iid=1, body=key[6:])[0] == 200
    status, _ = call(world, token, "create_merge_request_note", iid=1, body=f"x{key}x")
    assert status == 400


def test_commit_content_with_a_secret_is_refused_even_base64_encoded(world):
    _, token = world.job(("read", "push_branch"))
    before = world.sim.branch_sha(world.project, "feature/login")
    encoded = base64.b64encode(f"KEY={LLM_CANARY}\n".encode()).decode()
    for action in (
        {"action": "create", "file_path": "leak.txt", "content": f"KEY={LLM_CANARY}\n"},
        {"action": "create", "file_path": "leak.txt", "content": encoded, "encoding": "base64"},
    ):
        status, body = call(
            world, token, "commit_files", branch="feature/login", message="m", actions=[action]
        )
        assert (status, body["error"]["category"]) == (400, "validation")
    status, _ = call(
        world,
        token,
        "commit_files",
        branch="feature/login",
        message=f"leak {world.pat}",
        actions=[{"action": "create", "file_path": "ok.txt", "content": "fine\n"}],
    )
    assert status == 400
    assert world.sim.branch_sha(world.project, "feature/login") == before


def test_merge_request_fields_are_checked_too(world):
    world.sim.create_branch(world.project, "mate/a")
    _, token = world.job(("read", "open_mr"))
    status, _ = call(
        world,
        token,
        "create_merge_request",
        source_branch="mate/a",
        title="x",
        description=LLM_CANARY,
    )
    assert status == 400
    assert not world.sim.requests_to("POST", "/merge_requests")


# -- sanitized errors ----------------------------------------------------------------------
def _leaks(world, text: str, job) -> list[str]:
    key = job.tokens.get(kind=JobToken.Kind.GITLAB_KEY).reveal_secret("value")
    needles = [
        world.sim.url,
        str(world.sim.port),
        "127.0.0.1",
        key,
        world.pat,
        "Traceback",
        "api/v4",
    ]
    return [n for n in needles if n in text]


def test_gitlab_errors_reach_the_agent_as_categories_only(world):
    job, token = world.job(("read", "push_branch"))
    cases = [
        (("get_issue",), {"iid": 99}, "not_found"),  # GitLab: "404 Issue Not Found"
        (("get_file",), {"path": "x", "ref": "no-such-ref"}, "not_found"),
        (
            ("commit_files",),
            {
                "branch": "mate/none",
                "message": "m",
                "actions": [{"action": "update", "file_path": "nope.md", "content": "x"}],
            },
            "validation",
        ),
    ]
    for (name,), args, category in cases:
        response = world.client(token).post(f"/tools/{name}", args, format="json")
        error = response.json()["error"]
        assert error["category"] == category
        assert error["message"] == errors.DEFAULT_MESSAGES[category]
        assert _leaks(world, response.content.decode(), job) == []
        assert "Not Found" not in response.content.decode()


def test_gitlab_rate_limit_is_reported_as_rate_limit(world):
    _, token = world.job(("read",))
    world.sim.rate_limit_next(1, retry_after=30)
    status, body = call(world, token, "get_issue")
    assert (status, body["error"]["category"]) == (429, "rate_limit")


def test_unreachable_gitlab_is_upstream_without_the_address(world):
    job, token = world.job(("read",))
    url = world.sim.url
    world.sim.stop()
    try:
        response = world.client(token).post("/tools/get_issue", {}, format="json")
    finally:
        world.sim.start()
    assert response.status_code == 502
    assert response.json()["error"]["category"] == "upstream"
    assert url not in response.content.decode() and "Connection" not in response.content.decode()


def test_unexpected_failure_is_sanitized_and_audited(world, monkeypatch):
    job, token = world.job(("read",))

    def explode(manager):
        raise RuntimeError(f"boom {world.pat} at {world.sim.url}")

    monkeypatch.setattr(issues, "list_notes", explode)
    response = world.client(token).post("/tools/list_issue_notes", {}, format="json")
    assert response.status_code == 502
    assert response.json() == {
        "error": {"category": "upstream", "message": errors.DEFAULT_MESSAGES["upstream"]}
    }
    row = ToolCall.objects.get(job=job)
    assert (row.outcome, row.error_category) == ("error", "upstream")
    assert row.denial_reason == "unexpected: RuntimeError"


@pytest.mark.parametrize(
    ("status", "category"),
    [
        (400, "validation"),
        (401, "upstream"),  # GitLab refused Mate's key, not the agent's credential
        (403, "permission"),
        (404, "not_found"),
        (405, "conflict"),
        (406, "conflict"),
        (409, "conflict"),
        (422, "validation"),
        (429, "rate_limit"),
        (500, "upstream"),
        (502, "upstream"),
        (None, "upstream"),
    ],
)
def test_gitlab_status_mapping(status, category):
    exc = gitlab.exceptions.GitlabHttpError("body with glpat-secretsecret", status, b"raw body")
    failure = errors.from_gitlab(exc)
    assert failure.category == category
    assert "glpat" not in failure.message and "body" not in failure.message


def test_transport_errors_map_to_upstream():
    assert errors.from_gitlab(requests.ConnectionError("http://10.0.0.1")).category == "upstream"
    assert "10.0.0.1" not in errors.from_gitlab(requests.ConnectionError("http://10.0.0.1")).message


# -- path rules (pure) ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (".gitlab-ci.yml", True),
        ("/.gitlab-ci.yml", True),
        ("a/../.gitlab-ci.yml", True),
        (".gitlab/ci/x.yml", True),
        (".gitlab/ci", True),
        (".gitlab/cix.yml", False),
        ("ci/pipeline.yml", True),
        ("docs/.gitlab-ci.yml", False),
        ("README.md", False),
        (".gitlab\\ci\\x.yml", True),
    ],
)
def test_ci_path_rules(path, expected):
    assert scope.is_ci_path(path, {".gitlab-ci.yml", "ci/pipeline.yml"}) is expected
