"""Issue #10: Mate works with the real claude-code CLI, end to end (SPEC §5, §6, §7).

The simulator assigns an issue to the bot → webhook → routing → job → hardened container from
``mate-agent:latest`` → the bootstrap clones with the clone token and drops it → claude-code
connects to ``/mcp`` with the job credential → the stand-in model's tool calls go through the
tool service → a note appears on the issue as the job's per-job key → DONE/SUCCESS with logs,
tool calls and cost in the timeline; every token is revoked and no container is left.
"""

from __future__ import annotations

import json

import pytest

from jobs.models import JobEvent, JobStatus, JobToken, Outcome
from toolservice.models import ToolCall

from .conftest import ISSUE_TITLE, MODEL

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

NOTE_TOOLS = ["get_job_context", "get_issue", "create_issue_note"]


def _events(job, kind: str) -> list[dict]:
    return list(
        JobEvent.objects.filter(job=job, kind=kind).order_by("id").values_list("data", flat=True)
    )


def _stream_json(job) -> list[dict]:
    """claude-code's stream-json lines as Mate captured them (over-long lines are cut, skip)."""
    found = []
    for data in _events(job, JobEvent.Kind.LOG):
        line = data.get("line", "")
        if line.startswith("{"):
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
    return found


def _log_text(job) -> str:
    return "\n".join(d.get("line", "") for d in _events(job, JobEvent.Kind.LOG))


def _sim_token(sim, name: str):
    (token,) = [t for t in sim.state.tokens.values() if t.name == name]
    return token


def test_issue_assigned_to_the_bot_gets_a_note_from_claude_code(e2e_world):
    w = e2e_world
    (delivery,) = w.assign()
    assert delivery.status == 200, delivery.error or delivery.response_body

    job = w.finished(w.job())
    final = _events(job, JobEvent.Kind.FINAL)
    log = _log_text(job)
    assert (job.status, job.outcome, job.exit_code) == (JobStatus.DONE, Outcome.SUCCESS, 0), (
        final,
        log[-3000:],
    )
    assert job.image == "mate-agent:latest" and job.agent == "helper"

    # The note, on the issue, by the per-job key's project bot user (never the bot's own PAT).
    prefix = f"mate-job-{job.uid.hex[:8]}"
    key, clone = _sim_token(w.sim, prefix), _sim_token(w.sim, f"{prefix}-clone")
    (note,) = [n for n in w.sim.issue(w.project, 1).notes if not n.system]
    assert note.body == f"Mate looked at: {ISSUE_TITLE}"
    author = w.sim.state.users[note.author_id]
    assert note.author_id == key.user_id and author.bot, author

    # The clone used the clone token, which was revoked when the container reported the clone.
    git = [r for r in w.sim.requests if r.kind == "git"]
    assert git and all(r.token == clone.token for r in git)
    assert clone.revoked and key.revoked
    revocations = [r.path for r in w.sim.requests if r.method == "DELETE"]
    assert revocations == [
        f"/api/v4/projects/{w.project.id}/access_tokens/{clone.id}",
        f"/api/v4/projects/{w.project.id}/access_tokens/{key.id}",
    ]
    tokens = {t.kind: t for t in JobToken.objects.filter(job=job)}
    audit = ToolCall.objects.filter(job=job).order_by("created_at", "id")
    assert tokens["clone_token"].revoked_at <= audit.first().created_at  # before the agent ran
    assert audit.last().created_at <= tokens["gitlab_key"].revoked_at <= job.finished_at
    assert not any(t.has_secret("value") for t in tokens.values())

    # The timeline: claude-code's stream-json, the bootstrap's steps, the tool calls, the cost.
    stream = _stream_json(job)
    assert stream[0]["type"] == "system" and stream[0]["subtype"] == "init"
    (result,) = [line for line in stream if line["type"] == "result"]
    assert result["subtype"] == "success" and result["num_turns"] == 4
    assert "mate-agent: clone reported done" in log and "mate-agent: usage reported" in log
    calls = _events(job, JobEvent.Kind.TOOL_CALL)
    assert [(c["tool"], c["outcome"]) for c in calls] == [(t, "ok") for t in NOTE_TOOLS]
    rows = ToolCall.objects.filter(job=job).order_by("created_at", "id")
    assert [(r.tool, r.transport, r.outcome) for r in rows] == [
        (t, "mcp", "ok") for t in NOTE_TOOLS
    ]
    assert job.tool_calls == 3
    assert result["total_cost_usd"] > 0
    assert job.cost_usd is not None
    assert float(job.cost_usd) == pytest.approx(result["total_cost_usd"], abs=1e-4)
    usage = [d for d in _events(job, JobEvent.Kind.LOG) if d.get("stream") == "usage"]
    assert len(usage) == 1 and usage[0]["num_turns"] == 4
    transitions = [(d["from"], d["to"]) for d in _events(job, JobEvent.Kind.STATUS)]
    assert transitions == [
        (None, "STARTING"),
        ("STARTING", "RUNNING"),
        ("RUNNING", "FINISHING"),
        ("FINISHING", "DONE"),
    ]

    # The model was reached with the tenant's key (as X-Api-Key) and saw all three results.
    messages = w.llm.message_requests()
    assert [r.reply["step"] for r in messages] == [0, 1, 2, 3]
    assert {r.key_header for r in messages} == {"x-api-key"}
    assert {r.body["model"] for r in messages} == {MODEL}
    last = messages[-1].body["messages"]
    results = [b for m in last if isinstance(m["content"], list) for b in m["content"]]
    results = [b for b in results if b.get("type") == "tool_result"]
    assert len(results) == 3 and not any(b.get("is_error") for b in results)

    # No secret in the timeline; no container left.
    for secret in (w.llm_key, clone.token, key.token):
        assert secret not in log
    assert w.containers_of(job) == []

    # The console shows the finished job to a member of the tenant (over HTTP, from Mate).
    page = w.console_get(f"/t/{w.tenant.uid}/jobs/{job.uid}/")
    assert page.status_code == 200
    assert "SUCCESS" in page.text and "create_issue_note" in page.text


def test_tools_outside_the_authorities_are_refused_and_nothing_changes(e2e_world):
    w = e2e_world
    w.llm.script = "forbidden"
    branches_before = set(w.sim.repo(w.project).branches())
    (delivery,) = w.assign()
    assert delivery.status == 200

    job = w.finished(w.job())
    log = _log_text(job)
    assert (job.status, job.outcome) == (JobStatus.DONE, Outcome.SUCCESS), log[-3000:]
    assert job.snapshot["authorities"] == ["read", "comment"]

    # claude-code was never offered create_branch (outside read+comment) nor any approval tool
    # (none exists): it refused both calls itself, as tool_use_error results to the model.
    messages = w.llm.message_requests()
    assert [r.reply["step"] for r in messages] == [0, 1, 2, 3]
    last = messages[-1].body["messages"]
    uses = {
        b["id"]: b["name"]
        for m in last
        if isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_use"
    }
    refused = {}
    for m in last:
        for b in m["content"] if isinstance(m["content"], list) else []:
            if b.get("type") == "tool_result" and b.get("is_error"):
                refused[uses[b["tool_use_id"]]] = json.dumps(b.get("content"))
    assert set(refused) == {"mcp__mate__create_branch", "mcp__mate__approve_merge_request"}
    assert all("tool_use_error" in text for text in refused.values()), refused

    # Audited: the job's timeline keeps both attempts and their refusals; the tool service only
    # ever saw (and recorded) the one call it serves, and GitLab saw no write at all.
    stream = _stream_json(job)
    attempted = [
        block["name"]
        for line in stream
        if line["type"] == "assistant"
        for block in line["message"]["content"]
        if block.get("type") == "tool_use"
    ]
    assert attempted == [
        "mcp__mate__get_job_context",
        "mcp__mate__create_branch",
        "mcp__mate__approve_merge_request",
    ]
    errors = [
        block
        for line in stream
        if line["type"] == "user"
        for block in line["message"]["content"]
        if isinstance(block, dict) and block.get("type") == "tool_result" and block.get("is_error")
    ]
    assert len(errors) == 2
    rows = list(ToolCall.objects.filter(job=job).values_list("tool", "outcome"))
    assert rows == [("get_job_context", "ok")]
    assert [c["tool"] for c in _events(job, JobEvent.Kind.TOOL_CALL)] == ["get_job_context"]

    assert set(w.sim.repo(w.project).branches()) == branches_before
    writes = [
        (r.method, r.path)
        for r in w.sim.requests
        if r.kind == "api" and r.method in ("POST", "PUT") and not r.path.endswith("/access_tokens")
    ]
    assert writes == []
    assert [n for n in w.sim.issue(w.project, 1).notes if not n.system] == []
    assert w.containers_of(job) == []
