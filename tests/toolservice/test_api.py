"""REST transport and the authorization path (SPEC §7.1, §7.2; THREATS T7, T8, T10, T11, T22)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import JobEvent, JobStatus, JobToken
from tests.toolservice.conftest import ALL_AUTHORITIES
from toolservice import auth, registry
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db

READ_TOOLS = {
    "get_issue",
    "list_issue_notes",
    "get_merge_request",
    "get_merge_request_diff",
    "list_merge_request_notes",
    "get_file",
    "list_tree",
    "get_pipeline",
    "get_job_log",
}
UNLOCKS = {
    "read": READ_TOOLS,
    "comment": {"create_issue_note", "create_merge_request_note"},
    "push_branch": {"create_branch", "commit_files"},
    "push_mr_branch": {"commit_files"},
    "open_mr": {"create_merge_request"},
    "touch_ci": set(),
    "merge": {"merge_merge_request"},
}
CATALOGUE = {"get_job_context"}.union(*UNLOCKS.values())


def listed(world, token) -> list[str]:
    response = world.client(token).get("/tools/")
    assert response.status_code == 200
    return [t["name"] for t in response.json()["tools"]]


def test_catalogue_is_exactly_spec_7_4():
    assert {t.name for t in registry.catalogue()} == CATALOGUE
    assert not [t for t in registry.catalogue() if "approve" in t.name]
    assert "approve_mr" not in registry.AUTHORITIES


@pytest.mark.parametrize("authority", sorted(UNLOCKS))
def test_each_authority_unlocks_exactly_its_tools(world, authority):
    _, token = world.job((authority,))
    expected = {"get_job_context"} | UNLOCKS[authority]
    assert set(listed(world, token)) == expected
    client = world.client(token)
    for name in sorted(CATALOGUE):
        # Bad arguments: an allowed tool says "validation" (no GitLab call), a hidden one
        # gives the unknown-tool answer before looking at the arguments.
        response = client.post(f"/tools/{name}", {"no_such_argument": 1}, format="json")
        if name in expected:
            assert response.status_code == 400, name
            assert response.json()["error"]["category"] == "validation"
        else:
            assert response.status_code == 404, name
            assert response.json() == {
                "error": {"category": "not_found", "message": "unknown tool"}
            }


def test_listing_follows_catalogue_order_and_all_authorities(world):
    _, token = world.job(ALL_AUTHORITIES)
    assert listed(world, token) == list(registry.ORDER)


def test_unknown_authority_strings_in_a_snapshot_unlock_nothing(world):
    _, token = world.job(("read", "approve_mr", "admin"))
    assert set(listed(world, token)) == {"get_job_context"} | READ_TOOLS


def _answer(response) -> tuple:
    headers = sorted((k, v) for k, v in response.headers.items())
    return response.status_code, response.content, headers


def test_hidden_and_unknown_tools_answer_byte_for_byte_the_same(world):
    job, token = world.job(("read",))
    client = world.client(token)
    hidden = client.post("/tools/merge_merge_request", {"iid": 1}, format="json")
    unknown = client.post("/tools/frobnicate", {"iid": 1}, format="json")
    approve = client.post("/tools/approve_merge_request", {"iid": 1}, format="json")
    assert _answer(hidden) == _answer(unknown) == _answer(approve)
    assert hidden.status_code == 404
    rows = {r.tool: r for r in ToolCall.objects.filter(job=job)}
    assert rows["merge_merge_request"].outcome == "denied"
    assert "outside the effective set" in rows["merge_merge_request"].denial_reason
    assert rows["frobnicate"].denial_reason == "no such tool"
    assert rows["approve_merge_request"].denial_reason == "no such tool"
    assert b"effective" not in hidden.content
    assert not world.sim.requests_to("PUT", "/merge")


def test_approval_is_unknown_even_with_every_authority(world):
    _, token = world.job(ALL_AUTHORITIES)
    client = world.client(token)
    for name in ("approve_merge_request", "approve_mr", "approve"):
        response = client.post(f"/tools/{name}", {"iid": 1}, format="json")
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "unknown tool"
    assert not world.sim.requests_to("POST", "/approve")


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer mjt_nope", "Basic abc", "Token x"])
def test_missing_or_wrong_credentials_are_401(world, header):
    client = world.client(None)
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    for response in (client.get("/tools/"), client.post("/tools/get_issue", {}, format="json")):
        assert response.status_code == 401
        assert response.json()["error"]["category"] == "auth"
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert not ToolCall.objects.exists()


@pytest.mark.parametrize("status", [JobStatus.DONE, JobStatus.CANCELED, JobStatus.ERRORED])
def test_credential_of_a_finished_job_is_refused(world, status):
    job, token = world.job(("read",))
    assert world.client(token).post("/tools/get_issue", {}, format="json").status_code == 200
    job.status = status
    job.save(update_fields=["status"])
    response = world.client(token).post("/tools/get_issue", {}, format="json")
    assert response.status_code == 401
    assert world.client(token).get("/tools/").status_code == 401


def test_credential_one_second_past_expiry_is_refused(world):
    job, token = world.job(("read",))
    job.credential_expires_at = timezone.now() - timedelta(seconds=1)
    job.save(update_fields=["credential_expires_at"])
    assert world.client(token).get("/tools/").status_code == 401


def test_suspended_tenant_refuses_its_jobs(world):
    _, token = world.job(("read",))
    world.tenant.suspended_at = timezone.now()
    world.tenant.save(update_fields=["suspended_at"])
    assert world.client(token).get("/tools/").status_code == 401


def test_failed_credential_checks_are_rate_limited_but_a_valid_one_is_not(
    world, settings, monkeypatch
):
    settings.MATE_TOOL_AUTH_FAILURES_PER_MINUTE = 3
    _, token = world.job(("read",))
    looked_up = []
    real = auth.credentials.authenticate
    monkeypatch.setattr(auth.credentials, "authenticate", lambda t: looked_up.append(t) or real(t))
    wrong = world.client("mjt_" + "x" * 43)
    assert [wrong.get("/tools/").status_code for _ in range(3)] == [401, 401, 401]
    assert len(looked_up) == 3
    blocked = wrong.get("/tools/")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["category"] == "rate_limit"
    # A valid credential from that address is never refused by the failures (T34).
    assert world.client(token).get("/tools/").status_code == 200
    assert wrong.get("/tools/").status_code == 429


def test_per_job_burst_limit(world, settings):
    settings.MATE_TOOL_BURST = 3
    job, token = world.job(("read",))
    client = world.client(token)
    codes = [client.post("/tools/get_job_context", {}, format="json").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = ToolCall.objects.filter(job=job).first()
    assert (last.outcome, last.error_category) == ("error", "rate_limit")


def test_per_job_total_limit(world, settings):
    settings.MATE_TOOL_CALLS_PER_JOB = 2
    _, token = world.job(("read",))
    client = world.client(token)
    codes = [client.post("/tools/get_job_context", {}, format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        ('{"iid": "one"}', "application/json", "iid: must be of type integer"),
        ('{"iid": 0}', "application/json", "iid: must be at least 1"),
        ('{"iid": 1, "project_id": 2}', "application/json", "project_id"),
        ("[1, 2]", "application/json", "arguments must be a JSON object"),
        ("{not json", "application/json", "must be JSON"),
        ('{"iid": 1}', "text/plain", None),  # the body is JSON whatever the header says
    ],
)
def test_arguments_are_validated(world, body, content_type, needle):
    _, token = world.job(("read",))
    response = world.client(token).post("/tools/get_issue", body, content_type=content_type)
    if needle is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["category"] == "validation"
    assert needle in error["message"]


def test_get_job_context(world):
    job, token = world.job(("read", "comment"), kind="merge_request")
    response = world.client(token).post("/tools/get_job_context", format="json")
    result = response.json()["result"]
    assert result["job"]["id"] == str(job.uid)
    assert result["project"] == {
        "id": world.project.id,
        "path": "acme/widget",
        "default_branch": "main",
    }
    assert result["object"] == {"kind": "merge_request", "iid": world.mr.iid, "pipeline_id": None}
    assert result["authorities"] == ["comment", "read"]
    assert result["tools"] == listed(world, world.job(("read", "comment"))[1])
    assert result["event"]["source_branch"] == "feature/login"


def test_openapi_schema_is_published_without_tool_names(world):
    response = world.client(None).get("/tools/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    text = response.content.decode()
    assert "/tools/{name}" in text and "/tools/_usage" in text
    assert "jobCredential" in text
    assert "merge_merge_request" not in text and "/mcp" not in text


def test_usage_report_sets_cost_and_writes_an_event(world):
    job, token = world.job(("read",))
    body = {
        "cost_usd": 0.4213,
        "num_turns": 7,
        "usage": {"input_tokens": 1200, "output_tokens": 80},
    }
    response = world.client(token).post("/tools/_usage", body, format="json")
    assert response.status_code == 200
    job.refresh_from_db()
    assert str(job.cost_usd) == "0.4213"
    event = JobEvent.objects.filter(job=job, kind="log").last()
    assert event.data["stream"] == "usage"
    assert event.data["num_turns"] == 7
    assert event.data["usage"]["input_tokens"] == 1200
    assert job.tool_calls == 0  # usage is not a tool call
    bad = world.client(token).post("/tools/_usage", {"cost_usd": -1}, format="json")
    assert bad.status_code == 400
    assert world.client(None).post("/tools/_usage", body, format="json").status_code == 401


def test_clone_done_revokes_the_clone_token_at_gitlab(world):
    from jobs import credentials

    job, token = world.job(("read",))
    clone_token = credentials.mint_clone_token(job)
    assert not world.sim.token_record(clone_token).revoked
    response = world.client(token).post("/tools/_clone-done")
    assert response.status_code == 200
    assert world.sim.token_record(clone_token).revoked
    row = job.tokens.get(kind=JobToken.Kind.CLONE_TOKEN)
    assert row.revoked_at is not None and not row.has_secret("value")
    assert world.client(None).post("/tools/_clone-done").status_code == 401


def test_oversized_bodies_are_refused_before_parsing(world):
    _, token = world.job(("comment",))
    body = '{"body": "' + "x" * 2_700_000 + '"}'
    response = world.client(token).post(
        "/tools/create_issue_note", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "the request body is too large"
    assert not world.sim.requests_to("POST", "/notes")


def test_wrong_methods_answer_in_the_error_envelope(world):
    _, token = world.job(("read",))
    client = world.client(token)
    for url in ("/tools/get_issue", "/tools/merge_merge_request", "/tools/nope"):
        response = client.get(url)
        assert response.status_code == 405
        assert response.json() == {
            "error": {"category": "validation", "message": "method not allowed"}
        }
    assert client.post("/tools/").status_code == 405
