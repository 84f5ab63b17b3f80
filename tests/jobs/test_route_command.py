"""``mate route``: offline routing of a saved payload (SPEC §4.11), same code as live routing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.jobs.test_events import (
    issue_payload,
    mr_payload,
    note_payload,
    pipeline_mr,
    pipeline_payload,
    user,
)

TENANT = """\
version: 1
deny: [merge]
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help.
    permissions: [read, comment, merge]
triggers:
  - on: comment_mention
    agent: helper
"""


@pytest.fixture
def files(tmp_path):
    def write(name, content):
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)

    return write


def route(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("mate", "route", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_mention_routes_to_the_tenant_trigger_with_effective_authorities(files):
    code, out, _ = route(
        "--tenant",
        files("t.yml", TENANT),
        "--bot",
        "mate-bot",
        "--event-type",
        "Note Hook",
        "--payload",
        files("p.json", note_payload("hi @mate-bot")),
        "--json",
    )
    assert code == 0
    assert json.loads(out) == {
        "events": [
            {
                "event": "comment_mention",
                "bot": "mate-bot",
                "config_ref": "main",
                "trigger": {"origin": "tenant", "index": 0},
                "agent": "helper",
                "authorities": ["read", "comment"],
                "refused": None,
                "needs_gitlab": [
                    "confirmation of issue 23, note 1241 (SPEC 5.3 step 3a)",
                    "actor role: @alice needs developer (policies.min_actor_role)",
                ],
            }
        ],
        "ignored": None,
    }


def test_escalating_repo_file_is_config_invalid(files):
    repo = "version: 1\nagents:\n  helper:\n    permissions: [read, comment, merge, push_branch]\n"
    code, out, _ = route(
        "--tenant",
        files("t.yml", TENANT),
        "--repo",
        files("r.yml", repo),
        "--bot",
        "mate-bot",
        "--event-type",
        "Note Hook",
        "--payload",
        files("p.json", note_payload("@mate-bot go")),
        "--json",
    )
    row = json.loads(out)["events"][0]
    assert code == 0
    assert row["refused"].startswith("config_invalid")
    assert row["trigger"] is None
    assert any("not a subset of base agent" in p["message"] for p in row["problems"])


def test_no_trigger_and_human_output(files):
    payload = mr_payload(
        action="update",
        assignees=[user(7, "mate-bot")],
        changes={"assignees": {"previous": [], "current": [user(7, "mate-bot")]}},
    )
    code, out, _ = route(
        "--tenant",
        files("t.yml", TENANT),
        "--bot",
        "mate-bot",
        "--event-type",
        "Merge Request Hook",
        "--payload",
        files("p.json", payload),
    )
    assert code == 0
    assert "mr_assigned (bot @mate-bot, config at feature/login): no trigger" in out
    assert "refused: no_trigger" in out


def test_ignored_delivery_says_why(files):
    code, out, _ = route(
        "--tenant",
        files("t.yml", TENANT),
        "--bot",
        "mate-bot",
        "--event-type",
        "Push Hook",
        "--payload",
        files("p.json", {"object_kind": "push"}),
    )
    assert code == 0
    assert out.startswith("no event: unsupported hook type Push Hook")


def test_unreadable_file_is_exit_2_and_bad_tenant_is_exit_1(files, tmp_path):
    code, _, err = route(
        "--tenant",
        str(tmp_path / "missing.yml"),
        "--bot",
        "b",
        "--event-type",
        "Note Hook",
        "--payload",
        files("p.json", {}),
    )
    assert code == 2 and "cannot read" in err
    code, _, err = route(
        "--tenant",
        files("bad.yml", "version: 2\n"),
        "--bot",
        "b",
        "--event-type",
        "Note Hook",
        "--payload",
        files("p.json", {}),
    )
    assert code == 1 and "bad.yml:1:" in err


CONDITIONS = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help.
    permissions: [read, comment]
triggers:
  - on: issue_assigned
    agent: helper
    if: {author: alice}
  - on: comment_mention
    agent: helper
    if: {assignee: carol}
  - on: pipeline_failed
    agent: helper
policies:
  min_actor_role: maintainer
"""


def _route_json(files, hook: str, payload: dict) -> dict:
    code, out, _ = route(
        "--tenant",
        files("t.yml", CONDITIONS),
        "--bot",
        "mate-bot",
        "--event-type",
        hook,
        "--payload",
        files("p.json", payload),
        "--json",
    )
    assert code == 0
    (row,) = json.loads(out)["events"]
    return row


def test_conditions_on_ids_only_are_reported_as_needing_gitlab(files):
    """A real Issue Hook has the author's id only, a Note Hook's issue the assignees' ids only:
    offline, the command does not guess the usernames; it says GitLab must tell."""
    bot = user(7, "mate-bot")
    assigned = issue_payload(
        assignees=[bot], changes={"assignees": {"previous": [], "current": [bot]}}
    )
    row = _route_json(files, "Issue Hook", assigned)
    assert row["trigger"] is None  # on the payload alone; GitLab may say otherwise
    assert row["needs_gitlab"] == [
        "if.author of tenant trigger #0: the author's username (the payload has ids only)",
        "confirmation of issue 23 (SPEC 5.3 step 3a)",
    ]
    payload = note_payload("@mate-bot hi")
    payload["issue"]["assignee_ids"] = [42]
    row = _route_json(files, "Note Hook", payload)
    assert row["needs_gitlab"][0] == (
        "if.assignee of tenant trigger #1: the assignees' usernames (the payload has ids only)"
    )


def test_a_pipelines_bot_and_the_actor_role_need_gitlab_in_human_output(files):
    code, out, _ = route(
        "--tenant",
        files("t.yml", CONDITIONS),
        "--bot",
        "mate-bot",
        "--event-type",
        "Pipeline Hook",
        "--payload",
        files("p.json", pipeline_payload(mr=pipeline_mr())),
    )
    assert code == 0
    assert "pipeline_failed (bot @mate-bot, config at feature/login): tenant trigger #2" in out
    assert (
        "  needs GitLab: acting bot: the assignees of merge request 3 (a Pipeline Hook names none)"
        in out
    )
    assert "  needs GitLab: confirmation of pipeline 31, merge request 3 (SPEC 5.3 step 3a)" in out
    assert "  needs GitLab: actor role: @root needs maintainer (policies.min_actor_role)" in out
