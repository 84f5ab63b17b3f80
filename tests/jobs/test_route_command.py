"""``mate route``: offline routing of a saved payload (SPEC §4.11), same code as live routing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.jobs.test_events import mr_payload, note_payload, user

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
