"""configschema.triggers: the trigger list and its fields (SPEC §4.6)."""

from __future__ import annotations

import pytest

from configschema import EVENTS

from .helpers import errors, only_error, tenant_result, warnings

HEAD = (
    "version: 1\nagents:\n  a: {backend: claude-code, model: m, system_prompt: p, "
    "permissions: [read, comment]}\ntriggers:\n"
)


def _triggers(body: str):
    return tenant_result(HEAD + body)


@pytest.mark.parametrize("event", EVENTS)
def test_every_event_is_accepted(event: str) -> None:
    result = _triggers(f"  - on: {event}\n    agent: a\n")
    assert result.ok
    (trigger,) = result.config.triggers
    assert (trigger.on, trigger.agent, trigger.origin, trigger.index) == (event, "a", "tenant", 0)
    assert (trigger.at.line, trigger.at.column) == (5, 5)


def test_a_full_trigger() -> None:
    body = (
        "  - on: label_applied\n    agent: a\n    deny: [comment]\n"
        "    label: [agent/review, 'agent/fix']\n    if: {target: merge_request, labels: [x]}\n"
    )
    (trigger,) = _triggers(body).config.triggers
    assert trigger.deny == ("comment",)
    assert trigger.label == ("agent/review", "agent/fix")
    assert trigger.conditions.target == "merge_request"
    assert trigger.conditions.labels == ("x",)


def test_order_and_indices_are_kept() -> None:
    body = "".join(f"  - {{on: {e}, agent: a}}\n" for e in reversed(EVENTS))
    result = _triggers(body)
    assert [t.on for t in result.config.triggers] == list(reversed(EVENTS))
    assert [t.index for t in result.config.triggers] == list(range(len(EVENTS)))


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ("  - {agent: a}\n", "triggers[0]", "a trigger needs on:"),
        ("  - {on: mr_opened}\n", "triggers[0]", "a trigger needs agent:"),
        (
            "  - {on: push, agent: a}\n",
            "triggers[0].on",
            "unknown event push; expected one of: issue_assigned, mr_assigned, mr_opened, comment_mention, label_applied, pipeline_failed",
        ),
        ("  - {on: mr_opened, agent: b}\n", "triggers[0].agent", "unknown agent b; agents: a"),
        (
            "  - {on: mr_opened, agent: a, priority: 1}\n",
            "triggers[0].priority",
            "unknown key priority; expected one of: on, agent, deny, if, when, mention, label",
        ),
        (
            "  - {on: mr_opened, agent: a, deny: [nope]}\n",
            "triggers[0].deny[0]",
            "unknown authority nope; valid authorities: read, comment, push_branch, push_mr_branch, open_mr, touch_ci, merge",
        ),
        (
            "  - {on: mr_opened, agent: a, mention: bot}\n",
            "triggers[0].mention",
            "mention: applies only to comment_mention triggers, not mr_opened",
        ),
        (
            "  - {on: comment_mention, agent: a, label: x}\n",
            "triggers[0].label",
            "label: applies only to label_applied triggers, not comment_mention",
        ),
        (
            "  - {on: label_applied, agent: a, label: []}\n",
            "triggers[0].label",
            "expected at least one label, got an empty list",
        ),
        (
            "  - {on: comment_mention, agent: a, mention: [x]}\n",
            "triggers[0].mention",
            "expected a bot username, got a list",
        ),
        (
            "  - mr_opened\n",
            "triggers[0]",
            "expected a trigger (a mapping with on: and agent:), got a string",
        ),
    ],
)
def test_errors(body: str, path: str, message: str) -> None:
    problem = only_error(_triggers(body))
    assert (problem.path, problem.message) == (path, message)


def test_triggers_must_be_a_list() -> None:
    assert errors(_triggers("  a: {on: mr_opened}\n")) == [
        ("triggers", "expected a list of triggers, got a mapping")
    ]


def test_mention_may_be_written_with_at() -> None:
    result = _triggers("  - {on: comment_mention, agent: a, mention: '@mate-bot'}\n")
    assert result.config.triggers[0].mention == "mate-bot"


def test_when_is_validated_and_warned_about() -> None:
    result = _triggers(
        "  - on: mr_assigned\n    agent: a\n    when: {assignee_in: [mate-junior]}\n"
    )
    assert result.ok
    assert warnings(result) == [("triggers[0].when", "when: is accepted but not enforced; use if:")]
    problem = result.problems[0]
    assert problem.format("T.yml") == (
        "T.yml:7:5: warning: triggers[0].when: is accepted but not enforced; use if:"
    )
    assert result.config.triggers[0].when_assignee_in == ("mate-junior",)


@pytest.mark.parametrize(
    ("when", "path", "message"),
    [
        (
            "{assignee: x}",
            "triggers[0].when.assignee",
            "unknown key assignee; expected one of: assignee_in",
        ),
        (
            "{assignee_in: x}",
            "triggers[0].when.assignee_in",
            "expected a list of usernames, got a string",
        ),
        ("[x]", "triggers[0].when", "expected a mapping with assignee_in:, got a list"),
    ],
)
def test_when_errors_come_with_the_warning(when: str, path: str, message: str) -> None:
    result = _triggers(f"  - on: mr_assigned\n    agent: a\n    when: {when}\n")
    assert errors(result) == [(path, message)]
    assert len(warnings(result)) == 1


def test_every_when_warns() -> None:
    body = "".join(
        f"  - {{on: mr_opened, agent: a, when: {{assignee_in: [u{i}]}}}}\n" for i in range(3)
    )
    assert [p for p, _ in warnings(_triggers(body))] == [f"triggers[{i}].when" for i in range(3)]


def test_trigger_naming_a_broken_agent_is_not_reported_again() -> None:
    text = "version: 1\nagents:\n  a: {backend: nope}\ntriggers:\n  - {on: mr_opened, agent: a}\n"
    assert [p for p, _ in errors(tenant_result(text))] == ["agents.a", "agents.a.backend"]
