"""Which step answers which conversation, and the input templates (no server involved)."""

import pytest

from tests.llm_sim.scripts import FINAL_TEXT, SCRIPTS, plan_reply, resolve_script

from .client import tool_turn, user

CONTEXT = {"object": {"kind": "issue", "iid": 7}, "authorities": ["read", "comment"]}


def test_first_step_of_note_is_get_job_context():
    reply = plan_reply("note", [user("go")])
    assert reply.stop_reason == "tool_use"
    assert reply.content == [
        {"type": "tool_use", "name": "mcp__mate__get_job_context", "input": {}}
    ]


def test_context_reference_keeps_the_json_type():
    messages = [user("go"), *tool_turn("t1", "mcp__mate__get_job_context", {}, CONTEXT)]
    reply = plan_reply("note", messages)
    assert reply.step == 1
    assert reply.content[0]["input"] == {"iid": 7}


def test_inline_reference_finds_the_title_at_any_depth():
    messages = [
        user("go"),
        *tool_turn("t1", "mcp__mate__get_job_context", {}, CONTEXT),
        *tool_turn("t2", "mcp__mate__get_issue", {"iid": 7}, {"issue": {"title": "Broken"}}),
    ]
    reply = plan_reply("note", messages)
    assert reply.content[0]["name"] == "mcp__mate__create_issue_note"
    assert reply.content[0]["input"] == {"iid": 7, "body": "Mate looked at: Broken"}


def test_failed_tools_move_the_script_on_and_missing_values_drop_keys():
    messages = [
        user("go"),
        *tool_turn("t1", "mcp__mate__get_job_context", {}, "no such tool", is_error=True),
    ]
    reply = plan_reply("note", messages)
    assert reply.content[0] == {"type": "tool_use", "name": "mcp__mate__get_issue", "input": {}}


def test_end_turn_after_the_last_step_and_beyond():
    turns = [user("go")]
    for i in range(3):
        turns += tool_turn(f"t{i}", "x", {}, {"ok": True})
    assert plan_reply("note", turns).content == [{"type": "text", "text": "Done."}]
    turns += tool_turn("t9", "x", {}, {"ok": True})
    reply = plan_reply("note", turns)
    assert (reply.stop_reason, reply.content[0]["text"]) == ("end_turn", FINAL_TEXT)


def test_custom_script_with_text_before_a_tool_and_results_index():
    script = [
        {"tool": "a", "input": {}},
        {"text": "Now b.", "tool": "b", "input": {"n": "$results.0.items.1", "s": "<${last}>"}},
    ]
    reply = plan_reply(script, [user("go"), *tool_turn("t", "a", {}, {"items": [1, 2]})])
    assert reply.content[0] == {"type": "text", "text": "Now b."}
    assert reply.content[1]["input"] == {"n": 2, "s": '<{"items": [1, 2]}>'}


def test_forbidden_and_hello_scripts():
    assert [s.get("tool") for s in SCRIPTS["forbidden"][:3]] == [
        "mcp__mate__get_job_context",
        "mcp__mate__create_branch",
        "mcp__mate__approve_merge_request",
    ]
    assert plan_reply("hello", [user("hi")]).content == [
        {"type": "text", "text": "Hello from the stand-in."}
    ]


def test_unknown_script_name():
    with pytest.raises(ValueError, match="unknown script"):
        resolve_script("nope")
