"""Quick-action lines in text the tool service sends to GitLab (SPEC §7.3, T31): shown as
inline code, never executed; other text is sent unchanged. The end-to-end threat test is
tests/threats/test_t31_quick_actions.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.gitlab_sim.quick_actions import ALIASES, extract
from toolservice.models import ToolCall
from toolservice.scope import neutralize_quick_actions, neutralize_text

pytestmark = pytest.mark.django_db

FRAGMENTS = [
    *(f"/{name}" for name in ALIASES),
    "/APPROVE",
    "/label ~x `y`",
    "/assign @a ``b``",
    "```",
    "~~~",
    ">>>",
    "`",
    "<div>",
    "</div>",
    "> /close",
    "  /merge",
    "text",
    "",
    " ",
    "\r",
    "/appr\rove",
]


@pytest.mark.parametrize(
    ("text", "sent", "lines"),
    [
        ("/approve\n/merge", "`/approve`\n`/merge`", ["/approve", "/merge"]),
        ("Done.\n/label ~x `y`", "Done.\n`` /label ~x `y` ``", ["/label ~x `y`"]),
        ("a\r\n/appr\rove\r\nb", "a\r\n`/approve`\nb", ["/approve"]),  # GitLab drops \r first
        ("/cloſe", "`/cloſe`", ["/cloſe"]),  # look-alikes GitLab may case-fold
        ("in a line /close\n  /close\n> /close\n/ x", None, []),
        ("```\n/close\n```", "```\n`/close`\n```", ["/close"]),  # code too: no guessing
    ],
)
def test_lines_gitlab_could_run_become_inline_code(text, sent, lines):
    assert neutralize_text(text) == (text if sent is None else sent, lines)


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12), st.sampled_from(["\n", "\r\n"]))
def test_no_neutralized_text_holds_a_command_for_gitlabs_parser(parts, newline):
    sent, _ = neutralize_text(newline.join(parts))
    assert extract(sent).commands == []


def test_only_the_fields_gitlab_parses_are_changed():
    arguments = {"body": "/close", "title": "/merge", "description": "x", "branch": "/close"}
    sent, changes = neutralize_quick_actions(arguments)
    assert sent == {**arguments, "body": "`/close`", "title": "`/merge`"}
    assert changes == {"body": ["/close"], "title": ["/merge"]}
    assert arguments["body"] == "/close"  # the caller's arguments are left alone


def test_a_merge_request_title_is_neutralized_and_plain_text_is_untouched(world):
    job, token = world.job(("read", "push_branch", "open_mr", "comment"), kind="merge_request")
    client = world.client(token)
    # an MR's source must be a branch the job created (T33)
    made = client.post("/tools/create_branch", {"branch": "mate/t", "ref": "main"}, format="json")
    assert made.status_code == 200, made.json()
    answer = client.post(
        "/tools/create_merge_request",
        {"source_branch": "mate/t", "title": "/merge now", "draft": False},
        format="json",
    )
    result = answer.json()["result"]
    assert result["title"] == "`/merge now`"
    assert result["quick_actions_shown_as_text"] == {"title": ["/merge now"]}

    plain = "Fixed in a/b.\nSee path /close here.\n> /close"
    answer = client.post("/tools/create_merge_request_note", {"body": plain}, format="json")
    assert "quick_actions_shown_as_text" not in answer.json()["result"]
    assert [n.body for n in world.mr.notes if not n.system][-1] == plain
    row = ToolCall.objects.get(job=job, tool="create_merge_request_note")
    assert row.neutralized_commands == {}
