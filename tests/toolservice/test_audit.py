"""Every call leaves a ToolCall row and a timeline event (SPEC §6.6, §7.2 step 6); admin shows
them read-only (SPEC §1)."""

from __future__ import annotations

import json

import pytest

from jobs.models import JobEvent
from tests.tenants.factories import UserFactory
from toolservice import calls
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db


def test_a_successful_call_is_recorded(world):
    job, token = world.job(("read",))
    world.client(token).post("/tools/get_issue", {"iid": 1}, format="json")
    row = ToolCall.objects.get(job=job)
    assert (row.tool, row.transport, row.outcome, row.error_category) == (
        "get_issue",
        "rest",
        "ok",
        "",
    )
    assert row.arguments == {"iid": 1}
    assert row.tenant == world.tenant and row.denial_reason == ""
    assert row.duration_ms >= 0
    event = JobEvent.objects.get(job=job, kind="tool_call")
    assert event.data == {
        "tool": "get_issue",
        "outcome": "ok",
        "category": "",
        "duration_ms": row.duration_ms,
    }
    job.refresh_from_db()
    assert job.tool_calls == 1 and job.last_activity_at is not None


def test_failures_and_denials_are_recorded_with_their_category(world):
    job, token = world.job(("read",))
    client = world.client(token)
    client.post("/tools/get_issue", {"iid": 404}, format="json")
    client.post("/tools/create_issue_note", {"body": "x"}, format="json")
    client.post("/tools/get_issue", {"iid": "x"}, format="json")
    rows = list(ToolCall.objects.filter(job=job).order_by("id"))
    assert [(r.tool, r.outcome, r.error_category) for r in rows] == [
        ("get_issue", "error", "not_found"),
        ("create_issue_note", "denied", "not_found"),
        ("get_issue", "error", "validation"),
    ]
    events = JobEvent.objects.filter(job=job, kind="tool_call").order_by("id")
    assert [e.data["outcome"] for e in events] == ["error", "denied", "error"]
    job.refresh_from_db()
    assert job.tool_calls == 3


def test_long_arguments_are_cut_and_secrets_masked(world):
    job, token = world.job(("comment",))
    body = "word " * 2000
    world.client(token).post("/tools/create_issue_note", {"body": body}, format="json")
    stored = ToolCall.objects.get(job=job).arguments["body"]
    assert len(stored) < 600 and stored.startswith("word word") and "more characters" in stored
    world.client(token).post(
        "/tools/create_issue_note", {"body": f"key {world.pat}"}, format="json"
    )
    refused = ToolCall.objects.filter(job=job).first()
    assert world.pat not in json.dumps(refused.arguments)


def test_tool_names_from_the_caller_are_cut_in_the_audit(world):
    job, token = world.job(("read",))
    world.client(token).post("/tools/" + "x" * 300, {}, format="json")
    assert len(ToolCall.objects.get(job=job).tool) == 100


def test_admin_lists_tool_calls_read_only(world, client):
    job, token = world.job(("read",))
    world.client(token).post("/tools/get_issue", {}, format="json")
    row = ToolCall.objects.get(job=job)
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    listing = client.get("/admin/toolservice/toolcall/")
    assert listing.status_code == 200 and b"get_issue" in listing.content
    detail = client.get(f"/admin/toolservice/toolcall/{row.pk}/change/")
    assert detail.status_code == 200
    assert b'name="tool"' not in detail.content  # nothing editable
    assert client.get("/admin/toolservice/toolcall/add/").status_code == 403
    assert client.post(f"/admin/toolservice/toolcall/{row.pk}/delete/").status_code == 403


@pytest.mark.parametrize(
    "arguments",
    [
        {f"k{i}": ["w" * 500] * 50 for i in range(50)},
        {f"key{i:05d}": "v" * 500 for i in range(3_000)},
        {"a": {"b": {"c": {"d": {"e": {"f": {f"g{i}": "z" * 500 for i in range(50)}}}}}}},
        {"escapes": ["\u0001" * 500] * 50},
        {"numbers": [10**300] * 50, "nested": [[[["n" * 500] * 10] * 10] * 10]},
    ],
    ids=["wide", "many_keys", "deep", "escapes", "numbers_and_lists"],
)
def test_at_most_16_kib_of_arguments_are_stored_whatever_their_shape(world, arguments):
    job, token = world.job(("comment",))
    client = world.client(token)
    client.post("/tools/no_such_tool", arguments, format="json")
    client.post("/tools/create_issue_note", {"body": "hello", **arguments}, format="json")
    rows = list(ToolCall.objects.filter(job=job))
    assert len(rows) == 2
    for row in rows:
        stored = json.dumps(row.arguments)
        assert len(stored.encode()) <= calls.AUDIT_BYTES_MAX
        assert "not stored" in stored or "nested too deep" in stored  # what was left out
