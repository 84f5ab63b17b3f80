"""configschema.conditions: if: keys, where they apply, and how they evaluate (SPEC §4.6)."""

from __future__ import annotations

import pytest

from configschema import EVENTS, EventFacts
from configschema.conditions import APPLIES_TO, conditions_hold
from configschema.model import Conditions

from .helpers import errors, tenant_result

HEAD = (
    "version: 1\nagents:\n  a: {backend: claude-code, model: m, system_prompt: p, "
    "permissions: [read]}\ntriggers:\n"
)
VALUES = {
    "assignee": "bot",
    "author": "[alice, bob]",
    "target_branch": "main",
    "source_branch": "'feature/*'",
    "mr_draft": "false",
    "labels": "[bug]",
    "target": "issue",
    "ref": "'release/*'",
    "project": "group/*",
}
# SPEC §4.6's table, written out independently of the code under test.
EXPECTED_APPLIES = {
    "assignee": set(EVENTS) - {"pipeline_failed"},
    "author": set(EVENTS) - {"pipeline_failed"},
    "target_branch": {"mr_assigned", "mr_opened", "comment_mention", "label_applied"},
    "source_branch": {"mr_assigned", "mr_opened", "comment_mention", "label_applied"},
    "mr_draft": {"mr_assigned", "mr_opened", "comment_mention", "label_applied"},
    "labels": set(EVENTS) - {"pipeline_failed"},
    "target": {"comment_mention", "label_applied"},
    "ref": {"pipeline_failed"},
    "project": set(EVENTS),
}


def _check(event: str, key: str, value: str):
    return tenant_result(HEAD + f"  - on: {event}\n    agent: a\n    if:\n      {key}: {value}\n")


@pytest.mark.parametrize("key", list(VALUES))
@pytest.mark.parametrize("event", EVENTS)
def test_applicability(event: str, key: str) -> None:
    result = _check(event, key, VALUES[key])
    if event in EXPECTED_APPLIES[key]:
        assert result.ok, result.problems
    else:
        assert errors(result) == [(f"triggers[0].if.{key}", f"if.{key} does not apply to {event}")]


def test_the_table_in_code_matches_spec() -> None:
    assert {k: set(v) for k, v in APPLIES_TO.items()} == EXPECTED_APPLIES


def test_mr_draft_on_issue_assigned_exact_text() -> None:
    result = _check("issue_assigned", "mr_draft", "true")
    assert [p.message for p in result.errors] == ["if.mr_draft does not apply to issue_assigned"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "nope",
            "1",
            "unknown key nope; expected one of: assignee, author, target_branch, source_branch, mr_draft, labels, target, ref, project",
        ),
        ("mr_draft", "'no'", "expected true or false, got a string"),
        ("labels", "bug", "expected a list of labels, got a string"),
        ("labels", "[]", "expected at least one label, got an empty list"),
        ("assignee", "[]", "expected at least one username, got an empty list"),
        ("assignee", "{a: 1}", "expected a username or a list of them, got a mapping"),
        ("target", "pipeline", "unknown target pipeline; expected issue or merge_request"),
        ("target_branch", "[main, 3]", "expected a branch glob, got an integer"),
    ],
)
def test_value_errors(key: str, value: str, message: str) -> None:
    result = _check("label_applied", key, value)
    assert [m for _, m in errors(result)] == [message]


def test_if_must_be_a_mapping() -> None:
    result = tenant_result(HEAD + "  - on: mr_opened\n    agent: a\n    if: [x]\n")
    assert errors(result) == [("triggers[0].if", "expected a mapping of conditions, got a list")]


def test_applicability_is_skipped_when_the_event_is_invalid() -> None:
    result = _check("bogus", "mr_draft", "true")
    assert [p for p, _ in errors(result)] == ["triggers[0].on"]


MR = EventFacts(
    event="mr_opened",
    object_kind="merge_request",
    assignees=("bot", "carol"),
    author="alice",
    labels=("bug", "ui"),
    target_branch="release/1.2",
    source_branch="feature/x",
    draft=False,
    project="group/app",
)
ISSUE_NOTE = EventFacts(
    event="comment_mention", object_kind="issue", author="alice", project="group/app"
)
PIPELINE = EventFacts(event="pipeline_failed", object_kind="pipeline", ref="main", project="g/p")


@pytest.mark.parametrize(
    ("conditions", "facts", "holds"),
    [
        (Conditions(), MR, True),
        (Conditions(assignee=("bot",)), MR, True),
        (Conditions(assignee=("dave", "carol")), MR, True),
        (Conditions(assignee=("dave",)), MR, False),
        (Conditions(author=("alice",)), MR, True),
        (Conditions(author=("Alice",)), MR, False),  # case-sensitive
        (Conditions(target_branch=("release/*",)), MR, True),
        (Conditions(target_branch=("release",)), MR, False),  # the whole value must match
        (Conditions(target_branch=("Release/*",)), MR, False),
        (Conditions(source_branch=("main", "feature/?")), MR, True),
        (Conditions(mr_draft=False), MR, True),
        (Conditions(mr_draft=True), MR, False),
        (Conditions(labels=("bug",)), MR, True),
        (Conditions(labels=("bug", "ui")), MR, True),
        (Conditions(labels=("bug", "backend")), MR, False),  # every listed label is needed
        (Conditions(target=("merge_request")), MR, True),
        (Conditions(target="issue"), MR, False),
        (Conditions(project=("group/*",)), MR, True),
        (Conditions(project=("other/*",)), MR, False),
        (Conditions(assignee=("bot",), labels=("nope",)), MR, False),  # AND
        # target_branch & co. are false on an issue.
        (Conditions(target_branch=("*",)), ISSUE_NOTE, False),
        (Conditions(mr_draft=False), ISSUE_NOTE, False),
        (Conditions(target="issue"), ISSUE_NOTE, True),
        (Conditions(assignee=("bot",)), ISSUE_NOTE, False),
        (Conditions(ref=("ma*",)), PIPELINE, True),
        (Conditions(ref=("dev",)), PIPELINE, False),
        (Conditions(project=("g/p",)), PIPELINE, True),
    ],
)
def test_evaluation(conditions: Conditions, facts: EventFacts, holds: bool) -> None:
    assert conditions_hold(conditions, facts) is holds
