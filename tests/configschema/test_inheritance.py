"""configschema.inheritance: extends inside the tenant config (SPEC §4.4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .helpers import errors, only_error, tenant_result

BASE = """\
version: 1
agents:
  c:
    backend: claude-code
    model: model-c
    system_prompt: prompt c
    permissions: [read, comment, push_branch]
    env: {A: "1", B: "2"}
    timeout: 10m
    description: from c
"""


def _agent(text: str, name: str):
    result = tenant_result(text)
    assert result.ok, result.problems
    return result.config.agents[name]


def test_fields_come_from_the_child_else_the_base() -> None:
    agent = _agent(BASE + "  b:\n    extends: c\n    model: model-b\n", "b")
    assert (agent.model, agent.system_prompt, agent.backend) == (
        "model-b",
        "prompt c",
        "claude-code",
    )
    assert agent.permissions == ("read", "comment", "push_branch")
    assert agent.base == "c"


def test_lists_and_maps_replace_whole() -> None:
    text = BASE + "  b:\n    extends: c\n    permissions: [read]\n    env: {C: '3'}\n"
    agent = _agent(text, "b")
    assert agent.permissions == ("read",)
    assert agent.env == {"C": "3"}


def test_a_child_may_widen_permissions_in_the_tenant_config() -> None:
    agent = _agent(BASE + "  b:\n    extends: c\n    permissions: [read, merge]\n", "b")
    assert agent.permissions == ("read", "merge")


def test_chains_resolve_fully() -> None:
    text = (
        BASE
        + "  b:\n    extends: c\n    model: model-b\n  a:\n    extends: b\n    description: a\n"
    )
    agent = _agent(text, "a")
    assert (agent.model, agent.system_prompt, agent.description) == ("model-b", "prompt c", "a")
    assert agent.timeout == timedelta(minutes=10)  # inherited, not the default
    assert agent.base == "b"


def test_order_of_definition_does_not_matter() -> None:
    text = (
        "version: 1\nagents:\n  a:\n    extends: b\n  b:\n    extends: c\n"
        + BASE.split("agents:\n")[1]
    )
    assert _agent(text, "a").model == "model-c"


def test_default_timeout_applies_when_no_agent_in_the_chain_sets_one() -> None:
    text = BASE.replace("    timeout: 10m\n", "") + "policies: {default_timeout: 3h}\n"
    assert _agent(text, "c").timeout == timedelta(hours=3)
    text = BASE.replace("    timeout: 10m\n", "")
    assert _agent(text, "c").timeout == timedelta(hours=1)


@pytest.mark.parametrize(
    ("agents", "path", "message"),
    [
        ("  a: {extends: a}\n", "agents.a.extends", "extends cycle: a -> a"),
        (
            "  a: {extends: b}\n  b: {extends: a}\n",
            "agents.a.extends",
            "extends cycle: a -> b -> a",
        ),
        (
            "  x: {extends: y}\n  y: {extends: z}\n  z: {extends: x}\n",
            "agents.x.extends",
            "extends cycle: x -> y -> z -> x",
        ),
        # An agent leading into a cycle is not itself reported; the cycle is reported once.
        (
            "  p: {extends: a}\n  a: {extends: b}\n  b: {extends: a}\n",
            "agents.a.extends",
            "extends cycle: a -> b -> a",
        ),
    ],
)
def test_cycles_are_errors_naming_the_cycle(agents: str, path: str, message: str) -> None:
    problem = only_error(tenant_result("version: 1\nagents:\n" + agents))
    assert (problem.path, problem.message) == (path, message)


def test_unknown_base() -> None:
    problem = only_error(tenant_result(BASE + "  b:\n    extends: nobody\n"))
    assert problem.path == "agents.b.extends"
    assert problem.message == "unknown base agent nobody; the tenant config defines: c, b"
    assert (problem.line, problem.column) == (12, 14)


def test_an_agent_below_a_broken_one_is_not_reported_twice() -> None:
    result = tenant_result(BASE + "  b:\n    extends: nobody\n  a:\n    extends: b\n")
    assert [p for p, _ in errors(result)] == ["agents.b.extends"]


def test_invalid_inherited_field_is_not_also_reported_missing() -> None:
    text = BASE.replace("backend: claude-code", "backend: 7") + "  b:\n    extends: c\n"
    assert [p for p, _ in errors(tenant_result(text))] == ["agents.c.backend"]


def test_long_chains_do_not_recurse() -> None:
    lines = ["version: 1", "agents:"]
    lines += [f"  a{i}: {{extends: a{i + 1}}}" for i in range(1500)]
    lines += ["  a1500: {backend: claude-code, model: m, system_prompt: p, permissions: [read]}"]
    agent = _agent("\n".join(lines) + "\n", "a0")
    assert agent.model == "m"
