"""T31: quick actions in text the agent writes (SPEC §7.3 "No side doors").

GitLab runs ``/approve``, ``/merge``, ``/assign``, ``/label``, ``/close``, ``/move``,
``/clone``... found at the start of a line of a note or an issue/MR description, as the
note's author. The simulator runs them as GitLab does (tests/simulator/test_quick_actions.py).
Mate sends every such line as inline code, so GitLab shows it and runs nothing; the audit row
and the answer name the lines. Through the real endpoints (REST ``/tools/<name>`` and MCP
``/mcp``) with a job credential, against GitLab keys of both kinds: the minted per-job key
(Reporter for a comment-only job) and the bot's PAT when minting is refused (a Maintainer
here, and of the other project too, so that ``/approve``, ``/move`` and ``/clone`` would act).
"""

from __future__ import annotations

import json

import pytest

from tests.toolservice.conftest import World, _tool_service_urls, world
from tests.toolservice.test_mcp import request, rpc
from toolservice.models import ToolCall

__all__ = ["_tool_service_urls", "world"]  # fixtures of the tool service tests, reused here

pytestmark = pytest.mark.django_db

LINES = [
    "/approve",
    "/merge",
    "/assign @mate-bot",
    "/label ~x",
    "/close",
    "/move other/secret",
    "/clone other/secret",
]
NOTE = "\n".join(LINES)


def call(token: str, world: World, transport: str, name: str, arguments: dict) -> dict:
    """A tool call over ``transport``: the tool's result, or ``{"error": ...}``."""
    if transport == "rest":
        response = world.client(token).post(f"/tools/{name}", arguments, format="json")
        return response.json().get("result") or response.json()
    answer = rpc(token, request("tools/call", {"name": name, "arguments": arguments})).json()
    return json.loads(answer["result"]["content"][0]["text"])


def gitlab_state(world: World) -> dict:
    sim, project = world.sim, world.project
    mr, issue = world.mr, world.issue
    return {
        "approved_by": sim.approved_by(project, mr.iid),
        "states": (mr.state, issue.state),
        "assignees": (list(mr.assignee_ids), list(issue.assignee_ids)),
        "labels": (list(mr.labels), list(issue.labels)),
        "issues": (len(project.issues), len(world.foreign.issues)),
        "main": sim.branch_sha(project, "main"),
    }


def shown_as_text(body: str, lines: list[str]) -> bool:
    return all(f"`{line}`" in body.splitlines() for line in lines)


@pytest.mark.parametrize("transport", ["rest", "mcp"])
@pytest.mark.parametrize("key", ["minted", "bot_pat"])
def test_a_comment_only_job_runs_no_quick_action_through_a_note(world, key, transport):
    world.sim.state.ensure_label(world.project, "x")
    before = gitlab_state(world)
    calls = []
    for kind, obj, tool in (
        ("merge_request", world.mr, "create_merge_request_note"),
        ("issue", world.issue, "create_issue_note"),
    ):
        job, token = world.job(("read", "comment"), kind=kind, mint_key=key == "minted")
        calls.append((job, tool, obj, call(token, world, transport, tool, {"body": NOTE})))
    assert gitlab_state(world) == before
    for job, tool, obj, result in calls:
        notes = [n for n in obj.notes if not n.system]
        assert notes and shown_as_text(notes[-1].body, LINES), result
        assert result["id"] == notes[-1].id
        assert result["quick_actions_shown_as_text"] == {"body": LINES}
        row = ToolCall.objects.get(job=job, tool=tool)
        stored = {"body": {"lines": len(LINES), "first": LINES}}
        assert (row.outcome, row.neutralized_commands) == ("ok", stored)
        assert row.arguments["body"] == NOTE  # the agent's own text, as it asked


def test_an_agents_merge_request_description_merges_and_labels_nothing(world):
    world.sim.state.ensure_label(world.project, "x")
    job, token = world.job(("read", "push_branch", "open_mr"), kind="issue")
    call(token, world, "rest", "create_branch", {"branch": "mate/fix", "ref": "main"})
    world.sim.commit_files(world.project, "mate/fix", {"src/app.py": "x = 3\n"}, "Fix")
    lines = ["/merge", "/label ~x", "/assign @mate-bot", "/approve"]
    description = "Fixes the login.\n" + "\n".join(lines)
    result = call(
        token,
        world,
        "rest",
        "create_merge_request",
        {"source_branch": "mate/fix", "title": "Fix login", "description": description},
    )
    mr = world.sim.merge_request(world.project, result["iid"])
    assert mr.state == "opened" and mr.merged_at is None
    assert (mr.labels, mr.assignee_ids, mr.approvals) == ([], [], [])
    assert shown_as_text(mr.description, lines), mr.description
    assert result["quick_actions_shown_as_text"] == {"description": lines}
    row = ToolCall.objects.get(job=job, tool="create_merge_request")
    assert row.neutralized_commands == {"description": {"lines": 4, "first": lines}}
