"""T41: the agent fills the database, or rewrites its own cost.

Everything here goes through the real endpoints with a job credential (``POST /tools/<name>``,
``POST /mcp``, ``POST /tools/_usage``), the per-job key minted at the simulator.

* 2,000 tool calls of one job, 20 of them at the body limit in shapes made to pass a per-value
  cut (many keys, deep nesting, wide lists, characters JSON escapes six times over), the rest
  100 KB each, to unknown tools and to known tools with huge arguments, over REST and MCP:
  no row stores more than 16 KiB of arguments and all of them together at most 32 MiB.
* Calls refused for their rate keep their audit row but not their arguments.
* A ``_usage`` report of 0 (or any lower cost) after a higher one leaves the cost as it was;
  reports are rate limited per job, and a refused report changes nothing.
"""

from __future__ import annotations

import json

import pytest

from jobs.models import Job, JobEvent
from tests.toolservice.conftest import _tool_service_urls, world
from toolservice.calls import AUDIT_BYTES_MAX
from toolservice.models import ToolCall

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MiB = 1024 * 1024
CALLS = 2_000


def _deep(level: int) -> object:
    return "d" * 500 if level == 6 else {f"n{i}": _deep(level + 1) for i in range(4)}


HUGE_SHAPES = {
    # 50 keys of 50 strings of 500 characters: each within a per-value cut of 500 and 50
    "wide": {f"k{i}": ["w" * 500] * 50 for i in range(50)},
    # 4,500 keys
    "many_keys": {f"key{i:05d}": "v" * 500 for i in range(4_500)},
    # six levels of four keys: 4,096 leaves
    "deep": {"root": _deep(1)},
    # control characters are stored as \u0001: six bytes for one character
    "escapes": {f"e{i}": ["\u0001" * 500] * 50 for i in range(15)},
}
MEDIUM = {f"k{i}": ["m" * 500] * 4 for i in range(50)}  # 100 KB


def _body(shape: object) -> str:
    text = json.dumps(shape)
    assert len(text) <= 2_500_000  # within the tool service's body limit
    return text


def _mcp(client, name: str, arguments_json: str, rid: int):
    message = (
        f'{{"jsonrpc": "2.0", "id": {rid}, "method": "tools/call", '
        f'"params": {{"name": "{name}", "arguments": {arguments_json}}}}}'
    )
    return client.post(
        "/mcp",
        message,
        content_type="application/json",
        HTTP_ACCEPT="application/json, text/event-stream",
    )


def stored_bytes(row: ToolCall) -> int:
    """What one audit row holds: its arguments as JSON plus its text columns."""
    texts = (row.tool, row.transport, row.outcome, row.error_category, row.denial_reason)
    return len(json.dumps(row.arguments).encode()) + sum(len(t.encode()) for t in texts)


def test_2000_huge_calls_store_at_most_32_mib(world, settings):
    settings.MATE_TOOL_BURST = 100_000  # every call is served: what it stores is the point
    job, token = world.job(("read", "comment"))
    client = world.client(token)
    huge = [_body(shape) for shape in HUGE_SHAPES.values()]
    medium = _body(MEDIUM)
    note = _body({"body": "x" * 60_000, **MEDIUM})  # a known tool, its schema refuses it
    for n in range(CALLS):
        arguments = huge[(n // 100) % len(huge)] if n % 100 == 0 else medium
        if n % 10 == 3:
            name, arguments = "create_issue_note", note
        elif n % 10 == 6:
            name = "get_file"
        else:
            name = f"no_such_tool_{n}"
        if n % 50 == 7:
            response = _mcp(client, name, arguments, n)
            assert response.status_code == 200
        else:
            response = client.post(f"/tools/{name}", arguments, content_type="application/json")
            assert response.status_code in (400, 404), response.content[:200]
    rows = list(ToolCall.objects.filter(job=job))
    assert len(rows) == CALLS
    sizes = [stored_bytes(row) for row in rows]
    largest = max(len(json.dumps(row.arguments).encode()) for row in rows)
    total = sum(sizes)
    print(f"{CALLS} calls: {total / MiB:.1f} MiB stored, largest arguments {largest} bytes")
    assert largest <= AUDIT_BYTES_MAX
    assert total <= 32 * MiB, f"{total / MiB:.1f} MiB of tool calls for one job"
    # what is kept still says what the call was
    wide = next(r for r in rows if r.tool == "no_such_tool_0")
    assert wide.arguments["k0"][0] == "w" * 500 and "more items not stored" in json.dumps(
        wide.arguments
    )


def test_calls_refused_for_their_rate_keep_the_row_but_not_the_arguments(world, settings):
    settings.MATE_TOOL_BURST = 3
    settings.MATE_TOOL_BURST_SECONDS = 10**9  # one window for the whole test
    job, token = world.job(("read",))
    client = world.client(token)
    medium = _body(MEDIUM)
    answers = [
        client.post("/tools/no_such_tool", medium, content_type="application/json").status_code
        for _ in range(5)
    ]
    assert answers == [404, 404, 404, 429, 429]
    rows = list(ToolCall.objects.filter(job=job).order_by("id"))
    assert [r.error_category for r in rows] == ["not_found"] * 3 + ["rate_limit"] * 2
    assert all(r.arguments["k0"] for r in rows[:3])
    assert [r.arguments for r in rows[3:]] == [{}, {}]


def _report(world, token, cost, **extra):
    body = {"cost_usd": cost, "num_turns": 3, **extra}
    return world.client(token).post("/tools/_usage", body, format="json")


def test_a_usage_report_never_lowers_the_cost(world):
    job, token = world.job(("read",))
    assert _report(world, token, 0.8).status_code == 200
    assert _report(world, token, 0).status_code == 200
    job.refresh_from_db()
    assert str(job.cost_usd) == "0.8000"
    assert _report(world, token, 0.5).status_code == 200
    job.refresh_from_db()
    assert str(job.cost_usd) == "0.8000"
    assert _report(world, token, 1.25).status_code == 200
    job.refresh_from_db()
    assert str(job.cost_usd) == "1.2500"
    lines = [e.data["line"] for e in JobEvent.objects.filter(job=job, kind="log").order_by("id")]
    assert "the job's cost stays $0.8000" in lines[1]


def test_usage_reports_are_rate_limited_per_job_and_a_refused_one_changes_nothing(world, settings):
    settings.MATE_USAGE_REPORT_SECONDS = 10**9  # one window for the whole test
    job, token = world.job(("read",))
    other, other_token = world.job(("read",))
    answers = [_report(world, token, 0.1 * n).status_code for n in range(1, 6)]
    assert answers == [200] * 5
    refused = _report(world, token, 9.0)
    assert (refused.status_code, refused.json().get("error")) == (
        429,
        {"category": "rate_limit", "message": refused.json().get("error", {}).get("message")},
    )
    job.refresh_from_db()
    assert str(job.cost_usd) == "0.5000"
    assert JobEvent.objects.filter(job=job, kind="log").count() == 5
    # the limit is the job's own: another job reports as usual
    assert _report(world, other_token, 0.3).status_code == 200
    assert str(Job.objects.get(pk=other.pk).cost_usd) == "0.3000"


def test_a_huge_usage_report_stores_at_most_16_kib(world):
    job, token = world.job(("read",))
    usage = HUGE_SHAPES["deep"]
    assert _report(world, token, 0.2, usage=usage).status_code == 200
    event = JobEvent.objects.get(job=job, kind="log")
    assert len(json.dumps(event.data["usage"]).encode()) <= AUDIT_BYTES_MAX
