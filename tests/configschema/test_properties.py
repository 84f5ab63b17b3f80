"""Property tests (hypothesis) for the guarantees SPEC §4 rests on:

- no .mate.yml yields an effective set outside its tenant base's permissions minus the denies;
- approve_mr never appears in an effective set, and never validates;
- the first matching trigger wins, and repo triggers come first;
- validation never raises, whatever the input.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configschema import (
    AUTHORITIES,
    EVENTS,
    EventFacts,
    MergedConfig,
    match,
    resolve,
    validate_repo,
    validate_tenant,
)
from configschema.matching import trigger_matches

TENANT_NAMES = ("a", "b", "c", "d")
NEW_NAMES = ("x", "y")
USERS = ("bot", "alice", "bob")
LABELS = ("bug", "fix", "ui")
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

perms = st.lists(st.sampled_from(AUTHORITIES), min_size=1, max_size=7, unique=True)
maybe_approve = st.lists(
    st.sampled_from((*AUTHORITIES, "approve_mr")), min_size=1, max_size=7, unique=True
)
subsets = st.lists(st.sampled_from(AUTHORITIES), max_size=4, unique=True)


@st.composite
def tenant_docs(draw: st.DrawFn) -> dict[str, Any]:
    agents: dict[str, Any] = {}
    for i, name in enumerate(TENANT_NAMES):
        if i and draw(st.booleans()):
            agent: dict[str, Any] = {"extends": draw(st.sampled_from(TENANT_NAMES[:i]))}
            if draw(st.booleans()):
                agent["permissions"] = draw(perms)
        else:
            agent = {"backend": "claude-code", "model": "m", "system_prompt": name}
            agent["permissions"] = draw(perms)
        agents[name] = agent
    return {
        "version": 1,
        "deny": draw(subsets),
        "agents": agents,
        "triggers": draw(st.lists(trigger_docs(TENANT_NAMES), max_size=5)),
    }


@st.composite
def trigger_docs(draw: st.DrawFn, names: tuple[str, ...]) -> dict[str, Any]:
    event = draw(st.sampled_from(EVENTS))
    trigger: dict[str, Any] = {"on": event, "agent": draw(st.sampled_from(names))}
    if draw(st.booleans()):
        trigger["deny"] = draw(subsets)
    conditions: dict[str, Any] = {}
    if draw(st.booleans()):
        conditions["project"] = draw(st.sampled_from(["group/*", "group/app", "*"]))
    if event != "pipeline_failed" and draw(st.booleans()):
        conditions["labels"] = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=2))
    if event != "pipeline_failed" and draw(st.booleans()):
        conditions["assignee"] = draw(st.sampled_from(USERS))
    if conditions:
        trigger["if"] = conditions
    if event == "label_applied" and draw(st.booleans()):
        trigger["label"] = draw(st.sampled_from(LABELS))
    return trigger


@st.composite
def repo_docs(draw: st.DrawFn, permissions: st.SearchStrategy = maybe_approve) -> dict[str, Any]:
    agents: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(TENANT_NAMES + NEW_NAMES), unique=True, max_size=4)):
        agent: dict[str, Any] = {}
        if name in NEW_NAMES or draw(st.booleans()):
            agent["extends"] = draw(st.sampled_from(TENANT_NAMES + NEW_NAMES))
        if draw(st.booleans()):
            agent["permissions"] = draw(permissions)
        if draw(st.booleans()):
            agent["system_prompt_append"] = "more"
        agents[name] = agent
    names = TENANT_NAMES + tuple(agents)
    return {
        "version": 1,
        "agents": agents,
        "triggers": draw(st.lists(trigger_docs(names), max_size=5)),
    }


facts = st.builds(
    EventFacts,
    event=st.sampled_from(EVENTS),
    object_kind=st.sampled_from(["issue", "merge_request", "pipeline"]),
    assignees=st.lists(st.sampled_from(USERS), max_size=2, unique=True).map(tuple),
    labels=st.lists(st.sampled_from(LABELS), max_size=3, unique=True).map(tuple),
    project=st.sampled_from(["group/app", "other/app"]),
    new_label=st.sampled_from(LABELS),
    mentioned=st.sampled_from(USERS),
)


def _ceiling(tenant_agents: dict, repo_agent: dict[str, Any] | None, name: str) -> set[str]:
    """What the tenant allows the agent named ``name``, computed from the documents alone."""
    if repo_agent is None:
        return set(tenant_agents[name].permissions)
    allowed = set(AUTHORITIES)
    if name in tenant_agents:
        allowed &= set(tenant_agents[name].permissions)
    if "extends" in repo_agent:
        allowed &= set(tenant_agents[repo_agent["extends"]].permissions)
    return allowed


@SETTINGS
@given(tenant_docs(), repo_docs(), st.lists(facts, min_size=1, max_size=5))
def test_no_mate_yml_escapes_the_tenant_ceiling(tenant_doc, repo_doc, events) -> None:
    tenant = validate_tenant(json.dumps(tenant_doc))
    assert tenant.ok, tenant.problems
    repo = validate_repo(json.dumps(repo_doc), tenant.config)
    if not repo.ok:
        assert repo.config is None
        return
    merged = resolve(tenant.config, repo.config)
    tenant_deny = set(tenant_doc["deny"])
    for event in events:
        found = match(merged, event)
        if found is None:
            continue
        name = found.agent.name
        ceiling = _ceiling(tenant.config.agents, repo_doc["agents"].get(name), name)
        assert found.authorities <= ceiling - tenant_deny - set(found.trigger.deny)
        assert "approve_mr" not in found.authorities


@SETTINGS
@given(tenant_docs(), repo_docs())
def test_approve_mr_never_validates(tenant_doc, repo_doc) -> None:
    tenant = validate_tenant(json.dumps(tenant_doc))
    repo = validate_repo(json.dumps(repo_doc), tenant.config)
    mentions = "approve_mr" in json.dumps(repo_doc)
    if mentions:
        assert not repo.ok
        assert any("approve_mr is not a grantable authority" in p.message for p in repo.errors)
    if repo.ok:
        merged = resolve(tenant.config, repo.config)
        assert all("approve_mr" not in a.permissions for a in merged.agents.values())


@SETTINGS
@given(tenant_docs(), repo_docs(permissions=perms), facts)
def test_first_match_wins_and_repo_triggers_come_first(tenant_doc, repo_doc, event) -> None:
    tenant = validate_tenant(json.dumps(tenant_doc))
    repo = validate_repo(json.dumps(repo_doc), tenant.config)
    if not repo.ok:
        return
    merged = resolve(tenant.config, repo.config)
    repo_count = len(repo.config.triggers)
    assert [(t.origin, t.index) for t in merged.triggers] == [
        ("repo", i) for i in range(repo_count)
    ] + [("tenant", i) for i in range(len(tenant.config.triggers))]

    found = match(merged, event)
    alone = [
        match(MergedConfig(merged.agents, [t], merged.policies, merged.deny), event) is not None
        for t in merged.triggers
    ]
    assert alone == [trigger_matches(t, event) for t in merged.triggers]
    if not any(alone):
        assert found is None
        return
    first = alone.index(True)
    assert found is not None and found.trigger is merged.triggers[first]
    if any(alone[:repo_count]):
        assert found.trigger.origin == "repo"


yamlish = st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!|>'\"#\n?%@`\t1~.")), max_size=200)


@settings(max_examples=300, deadline=None)
@given(st.one_of(yamlish, st.text(max_size=200), st.binary(max_size=100)))
def test_validation_never_raises(text) -> None:
    result = validate_tenant(text)
    assert result.ok == (result.config is not None)
    for problem in result.problems:
        assert problem.line >= 1 and problem.column >= 1
        assert problem.severity in ("error", "warning")
