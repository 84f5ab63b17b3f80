"""configschema.agents: agent fields, their types, and what each layer may set (SPEC §4.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .helpers import agent_doc, errors, only_error, repo_result, tenant_result, warnings

AGENT = "agents.a"


def test_a_complete_agent() -> None:
    result = tenant_result(
        agent_doc(
            """
            description: does things
            image: registry.example.com/agents/base:1.2
            timeout: 90m
            env: {LOG_LEVEL: debug}
            """
        )
    )
    assert result.ok, result.problems
    agent = result.config.agents["a"]
    assert (agent.backend, agent.model, agent.system_prompt) == (
        "claude-code",
        "claude-sonnet-4-6",
        "hi",
    )
    assert agent.permissions == ("read",)
    assert agent.image == "registry.example.com/agents/base:1.2"
    assert agent.timeout == timedelta(minutes=90)
    assert agent.env == {"LOG_LEVEL": "debug"}
    assert (agent.description, agent.origin, agent.base) == ("does things", "tenant", None)


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        (
            "resources: {cpu: 2}",
            "resources",
            "resources: was removed; container CPU and memory come from the plan tier",
        ),
        (
            "colour: blue",
            "colour",
            "unknown key colour; expected one of: backend, model, system_prompt, permissions, description, image, timeout, extends, env, keep_container",
        ),
        (
            "system_prompt_append: more",
            "system_prompt_append",
            "system_prompt_append: is only allowed in .mate.yml; the tenant config sets the whole system_prompt",
        ),
        ("description: [x]", "description", "expected a string, got a list"),
        ("image: ''", "image", "expected a container image reference, got an empty string"),
        ("image: 'my image'", "image", "'my image' is not an image reference (it contains blanks)"),
        ("timeout: 30", "timeout", "expected a Go duration such as 30m"),
        ("timeout: 1.5", "timeout", "expected a Go duration such as 30m"),
        ("timeout: 0s", "timeout", "must be longer than 0"),
        ("timeout: 25h", "timeout", "must be at most 24h, got 25h"),
        (
            "timeout: 30 min",
            "timeout",
            "'30 min' is not a Go duration such as 30s, 5m or 1h30m; expected a Go duration such as 30m",
        ),
        ("extends: 3", "extends", "expected the name of a base agent, got an integer"),
        ("keep_container: yes", "keep_container", "expected true or false, got a string"),
        ("env: [A]", "env", "expected a mapping of variable names to strings, got a list"),
    ],
)
def test_field_errors(fields: str, path: str, message: str) -> None:
    problem = only_error(tenant_result(agent_doc(fields)))
    assert (problem.path, problem.message) == (f"{AGENT}.{path}", message)


def test_timeout_of_24h_is_the_maximum_allowed() -> None:
    assert tenant_result(agent_doc("timeout: 24h")).ok
    assert tenant_result(agent_doc("timeout: 1440m")).ok


@pytest.mark.parametrize(
    ("backend", "warned"), [("claude-code", False), ("copilot", True), ("aider", True)]
)
def test_backends(backend: str, warned: bool) -> None:
    text = agent_doc("").replace("backend: claude-code", f"backend: {backend}")
    result = tenant_result(text)
    assert result.ok
    expected = [
        (f"{AGENT}.backend", f"backend {backend} is accepted but runs the claude-code adapter")
    ]
    assert warnings(result) == (expected if warned else [])


def test_unknown_backend() -> None:
    text = agent_doc("").replace("backend: claude-code", "backend: codex")
    assert errors(tenant_result(text)) == [
        (f"{AGENT}.backend", "unknown backend codex; expected one of: claude-code, copilot, aider")
    ]


@pytest.mark.parametrize(
    ("model", "ok"),
    [
        ("anthropic/claude-sonnet-4-6", True),
        ("claude-sonnet-4-6", True),
        ("openai/gpt-4o:free", True),
        ("'anthropic/claude sonnet'", False),
        ("a/b/c", False),
        ("''", False),
        ("/claude", False),
    ],
)
def test_model_ids(model: str, ok: bool) -> None:
    text = agent_doc("").replace("model: claude-sonnet-4-6", f"model: {model}")
    result = tenant_result(text)
    assert result.ok is ok
    if not ok:
        assert [p for p, _ in errors(result)] == [f"{AGENT}.model"]


@pytest.mark.parametrize(
    ("permissions", "path", "message"),
    [
        ("[]", "permissions", "must list at least one authority"),
        (
            "read",
            "permissions",
            "expected a list of authorities such as [read, comment], got a string",
        ),
        ("[read, read]", "permissions[1]", "duplicate authority read"),
        (
            "[read, approve_mr]",
            "permissions[1]",
            "approve_mr is not a grantable authority; approval is always a human action",
        ),
        (
            "[read, admin]",
            "permissions[1]",
            "unknown authority admin; valid authorities: read, comment, push_branch, push_mr_branch, open_mr, touch_ci, merge",
        ),
    ],
)
def test_permissions(permissions: str, path: str, message: str) -> None:
    text = agent_doc("").replace("permissions: [read]", f"permissions: {permissions}")
    problem = only_error(tenant_result(text))
    assert (problem.path, problem.message) == (f"{AGENT}.{path}", message)


def test_the_problem_position_is_the_offending_node() -> None:
    text = agent_doc("").replace("permissions: [read]", "permissions: [read, comment, merge, nope]")
    problem = only_error(tenant_result(text))
    assert (problem.path, problem.line, problem.column) == (f"{AGENT}.permissions[3]", 7, 41)


def test_required_fields_after_inheritance() -> None:
    problem = only_error(tenant_result("version: 1\nagents:\n  a:\n    model: m\n"))
    assert problem.path == AGENT
    assert problem.message == (
        "agent a has no backend, system_prompt, permissions; set it here or in the agent it extends"
    )


def test_empty_system_prompt_is_a_prompt() -> None:
    text = agent_doc("").replace("system_prompt: hi", "system_prompt: ''")
    assert tenant_result(text).ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nagents: [a]\n", "expected a mapping of agent names to agents, got a list"),
        (
            "version: 1\nagents:\n  a: claude\n",
            "expected an agent (a mapping of fields), got a string",
        ),
        ("version: 1\nagents:\n  1: {}\n", "agent names must be non-empty strings, got an integer"),
    ],
)
def test_agent_map_shape(text: str, message: str) -> None:
    assert [m for _, m in errors(tenant_result(text))] == [message]


@pytest.mark.parametrize(("onprem", "warned"), [(False, True), (True, False)])
def test_keep_container_warns_unless_onprem(onprem: bool, warned: bool) -> None:
    result = tenant_result(agent_doc("keep_container: true"), onprem=onprem)
    assert result.ok
    assert result.config.agents["a"].keep_container is True
    expected = [
        (
            f"{AGENT}.keep_container",
            "keep_container is ignored: it is honoured only when Mate runs in on-prem mode "
            "(MATE_DEPLOYMENT=onprem)",
        )
    ]
    assert warnings(result) == (expected if warned else [])


@pytest.mark.parametrize(
    ("fields", "path", "start"),
    [
        ("image: alpine:3", "image", "image: is not allowed in .mate.yml"),
        ("keep_container: true", "keep_container", "keep_container: is not allowed in .mate.yml"),
        ("resources: {}", "resources", "resources: was removed"),
    ],
)
def test_fields_a_repository_may_not_set(fields: str, path: str, start: str) -> None:
    problem = only_error(repo_result(f"version: 1\nagents:\n  reviewer:\n    {fields}\n"))
    assert problem.path == f"agents.reviewer.{path}"
    assert problem.message.startswith(start)


def test_system_prompt_append_conflicts_with_system_prompt() -> None:
    text = "version: 1\nagents:\n  reviewer:\n    system_prompt: a\n    system_prompt_append: b\n"
    problem = only_error(repo_result(text))
    assert problem.path == "agents.reviewer.system_prompt_append"
    assert problem.message == (
        "system_prompt_append cannot be used together with system_prompt on the same agent; "
        "keep one of them"
    )
