"""T20 (and T9) for the tool API: a job credential of tenant A never reaches tenant B's objects.

The tool API takes no tenant, project or job argument: everything is resolved from the job
behind the credential. Tenant B here is a second Mate tenant on the same GitLab, whose own job
works on the project ``other/secret`` (tests/toolservice/conftest.py's foreign project).
Related: tests/toolservice/test_scope_and_errors.py (foreign iids, pipeline and CI job ids and
project arguments of the same tenant are not_found/validation without a GitLab request).
"""

from __future__ import annotations

import json
import uuid

import pytest

from jobs import credentials
from jobs.models import Job, JobStatus
from tests.gitlab_sim import MAINTAINER
from tests.tenants.factories import TenantFactory, make_bot, make_default
from tests.toolservice.conftest import ALL_AUTHORITIES, World, _tool_service_urls, world
from toolservice import calls
from toolservice.models import ToolCall

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = pytest.mark.django_db

CANARY = "zq7canary"


@pytest.fixture
def theirs(world: World):
    """Tenant B, its bot (a maintainer of other/secret) and a running job with a credential."""
    sim = world.sim
    bot_user = sim.add_user(f"bot-{CANARY}")
    sim.add_member(world.foreign, bot_user, MAINTAINER)
    tenant = TenantFactory(name=f"Other {CANARY}", gitlab_url=sim.url)
    make_default(
        make_bot(
            tenant,
            username=bot_user.username,
            token=sim.add_pat(bot_user, scopes=["api"]),
            gitlab_user_id=bot_user.id,
        )
    )
    issue = sim.add_issue(world.foreign, f"secret plan {CANARY}", CANARY, author=world.human)
    job = Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event="issue_assigned",
        bot_username=bot_user.username,
        agent="helper",
        trigger="tenant[0]",
        project_id=world.foreign.id,
        project_path=world.foreign.path_with_namespace,
        object_kind="issue",
        object_iid=issue.iid,
        loop_key=f"issue/{issue.iid}",
        status=JobStatus.RUNNING,
        uses_bot_pat=True,
        snapshot={
            "authorities": list(ALL_AUTHORITIES),
            "project": {"id": world.foreign.id, "path": world.foreign.path_with_namespace},
            "object": {"kind": "issue", "iid": issue.iid, "pipeline_id": None},
            "event": {"event": "issue_assigned", "project_id": world.foreign.id},
            "timeout_seconds": 600,
            "bot": bot_user.username,
        },
    )
    token = credentials.issue_job_credential(job)
    world.sim.requests.clear()
    return tenant, job, token, issue


def _state(job: Job) -> tuple:
    job.refresh_from_db()
    return (job.cost_usd, job.tool_calls, job.status, job.events.count(), job.tokens.count())


def _foreign_arguments(world: World, theirs) -> dict:
    tenant, job, _, issue = theirs
    return {
        "project_id": world.foreign.id,
        "project": world.foreign.path_with_namespace,
        "tenant": str(tenant.uid),
        "job": str(job.uid),
        "job_uid": str(job.uid),
        "iid": issue.iid,
        "merge_request_iid": issue.iid,
        "pipeline_id": world.foreign_pipeline.id,
        "job_id": world.foreign_pipeline.jobs[0].id,
        "ref": "main",
        "path": "README.md",
        "body": "hello",
    }


def test_a_credential_of_tenant_a_never_reaches_tenant_b(world, theirs):
    tenant_b, job_b, _, _ = theirs
    job_a, token_a = world.job(ALL_AUTHORITIES)
    client = world.client(token_a)
    before_b = _state(job_b)
    b_calls = ToolCall.objects.filter(tenant=tenant_b).count()

    context = client.post("/tools/get_job_context", {"job": str(job_b.uid)}, format="json")
    if context.status_code == 200:
        assert context.json()["result"]["project"]["id"] == world.project.id

    arguments = _foreign_arguments(world, theirs)
    names = [tool.name for tool in calls.list_tools(job_a)]
    assert len(names) > 10
    for name in names:
        schema_keys = set(world_schema(job_a, name))
        for args in (arguments, {k: v for k, v in arguments.items() if k in schema_keys}):
            response = client.post(f"/tools/{name}", args, format="json")
            assert response.status_code < 500, (name, response.content)
            assert CANARY.encode() not in response.content, (name, args)
            text = json.dumps(response.json())
            assert world.foreign.path_with_namespace not in text, (name, args)
    for path, body in (("/tools/_usage", {"cost_usd": 9.5}), ("/tools/_clone-done", {})):
        assert client.post(path, body, format="json").status_code == 200

    assert world.foreign_requests() == [], "tenant A's job made GitLab requests on B's project"
    assert _state(job_b) == before_b
    assert ToolCall.objects.filter(tenant=tenant_b).count() == b_calls
    assert not ToolCall.objects.filter(job=job_a).exclude(tenant=job_a.tenant).exists()


def test_mcp_reaches_only_the_credentials_tenant(world, theirs):
    tenant_b, job_b, token_b, issue_b = theirs
    _, token_a = world.job(("read",))
    for token, project in ((token_a, world.project), (token_b, world.foreign)):
        response = world.client(token).post(
            "/mcp",
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {
                    "name": "get_job_context",
                    "arguments": {"tenant": str(tenant_b.uid)},
                },
            },
            format="json",
        )
        assert response.status_code == 200
        text = response.json()["result"]["content"][0]["text"]
        if "error" not in json.loads(text):
            assert json.loads(text)["project"]["id"] == project.id
    # A's credential asking for B's issue by iid gets A's project's answer (not found here).
    response = world.client(token_a).post(
        "/mcp",
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_issue", "arguments": {"iid": issue_b.iid}},
        },
        format="json",
    )
    assert CANARY.encode() not in response.content
    assert world.foreign_requests() == []


def test_the_credential_of_tenant_b_is_not_bound_to_a_by_anything_in_the_request(world, theirs):
    """B's own credential works for B's project only, whatever A-looking data it carries."""
    _, job_b, token_b, issue_b = theirs
    client = world.client(token_b)
    response = client.post("/tools/get_issue", {}, format="json")
    assert response.status_code == 200
    assert response.json()["result"]["iid"] == issue_b.iid
    world.sim.requests.clear()
    response = client.post(
        "/tools/get_issue", {"iid": world.issue.iid, "project_id": world.project.id}, format="json"
    )
    assert response.status_code == 400  # no project argument exists
    assert not [r for r in world.sim.requests if f"/projects/{world.project.id}" in r.path]


def world_schema(job: Job, name: str) -> dict:
    tool = next(t for t in calls.list_tools(job) if t.name == name)
    return tool.schema.get("properties", {})
