"""configschema.matching: first match wins, and the effective authority set (SPEC §4.6, §4.7)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from configschema import EventFacts, match, resolve, validate_repo
from configschema.matching import effective_authorities, trigger_matches
from configschema.model import ResolvedAgent, Trigger

from .helpers import dedent, tenant_config

TENANT = """\
version: 1
deny: [merge]
agents:
  dev:
    backend: claude-code
    model: m
    system_prompt: p
    permissions: [read, comment, push_branch, open_mr, merge]
    timeout: 20m
  reader:
    extends: dev
    permissions: [read]
triggers:
  - on: comment_mention
    agent: reader
    mention: bot-a
  - on: label_applied
    agent: dev
    label: [fix, fix-now]
    deny: [open_mr]
  - on: mr_opened
    agent: dev
    if: {target_branch: main}
  - on: mr_opened
    agent: reader
  - on: pipeline_failed
    agent: reader
    deny: [read]
    when: {assignee_in: [nobody]}
"""


def _merged(repo: str | None = None):
    tenant = tenant_config(TENANT)
    if repo is None:
        return resolve(tenant)
    result = validate_repo(dedent(repo), tenant)
    assert result.ok, result.problems
    return resolve(tenant, result.config)


def _mr(**kw) -> EventFacts:
    return EventFacts(event="mr_opened", object_kind="merge_request", **kw)


def test_first_matching_trigger_wins() -> None:
    found = match(_merged(), _mr(target_branch="main"))
    assert (found.trigger.index, found.agent.name) == (2, "dev")
    found = match(_merged(), _mr(target_branch="dev"))
    assert (found.trigger.index, found.agent.name) == (3, "reader")


def test_effective_set_subtracts_trigger_and_tenant_deny() -> None:
    found = match(_merged(), _mr(target_branch="main"))
    assert found.authorities == frozenset({"read", "comment", "push_branch", "open_mr"})
    found = match(
        _merged(), EventFacts(event="label_applied", object_kind="issue", new_label="fix")
    )
    assert found.authorities == frozenset({"read", "comment", "push_branch"})
    assert found.timeout == timedelta(minutes=20)


def test_empty_effective_set_is_still_a_match_for_the_caller_to_refuse() -> None:
    found = match(
        _merged(), EventFacts(event="pipeline_failed", object_kind="pipeline", ref="main")
    )
    assert found is not None and found.agent.name == "reader"
    assert found.authorities == frozenset()


def test_when_is_not_enforced() -> None:
    # The pipeline trigger's when: names nobody, and it still fires.
    facts = EventFacts(event="pipeline_failed", object_kind="pipeline", assignees=("someone",))
    assert match(_merged(), facts).trigger.index == 4


@pytest.mark.parametrize(
    ("mentioned", "fires"), [("bot-a", True), ("bot-b", False), ("Bot-A", False), (None, False)]
)
def test_mention_restricts_to_one_bot(mentioned: str | None, fires: bool) -> None:
    facts = EventFacts(event="comment_mention", object_kind="issue", mentioned=mentioned)
    assert (match(_merged(), facts) is not None) is fires


@pytest.mark.parametrize(
    ("label", "fires"), [("fix", True), ("fix-now", True), ("Fix", False), ("bug", False)]
)
def test_label_restricts_to_listed_labels(label: str, fires: bool) -> None:
    facts = EventFacts(event="label_applied", object_kind="merge_request", new_label=label)
    assert (match(_merged(), facts) is not None) is fires


def test_no_trigger_for_the_event() -> None:
    assert match(_merged(), EventFacts(event="issue_assigned", object_kind="issue")) is None


def test_repo_triggers_come_first_and_shadow_tenant_ones() -> None:
    repo = "version: 1\ntriggers:\n  - {on: mr_opened, agent: reader, deny: [comment]}\n"
    found = match(_merged(repo), _mr(target_branch="main"))
    assert (found.trigger.origin, found.trigger.index, found.agent.name) == ("repo", 0, "reader")
    assert found.authorities == frozenset({"read"})


def test_repo_override_applies_to_tenant_triggers() -> None:
    repo = "version: 1\nagents:\n  dev:\n    permissions: [read, comment]\n"
    found = match(_merged(repo), _mr(target_branch="main"))
    assert found.trigger.origin == "tenant"
    assert found.agent.origin == "repo"
    assert found.authorities == frozenset({"read", "comment"})


def test_effective_authorities() -> None:
    agent = ResolvedAgent(
        name="x",
        backend="claude-code",
        model="m",
        system_prompt="p",
        permissions=("read", "comment", "merge"),
    )
    trigger = Trigger(on="mr_opened", agent="x", deny=("comment",))
    assert effective_authorities(agent, trigger, {"merge"}) == frozenset({"read"})
    assert effective_authorities(agent, trigger, ()) == frozenset({"read", "merge"})


def test_trigger_matches_checks_the_event_first() -> None:
    trigger = Trigger(on="mr_opened", agent="x")
    assert trigger_matches(trigger, _mr())
    assert not trigger_matches(
        trigger, EventFacts(event="mr_assigned", object_kind="merge_request")
    )


def test_match_to_dict() -> None:
    found = match(_merged(), _mr(target_branch="main"))
    assert found.to_dict() == {
        "trigger": {"origin": "tenant", "index": 2, "on": "mr_opened", "agent": "dev"},
        "agent": "dev",
        "authorities": ["read", "comment", "push_branch", "open_mr"],
        "timeout": "20m",
    }
