"""configschema.envvars: env names, values, and what a repository may not set (SPEC §4.8)."""

from __future__ import annotations

import pytest

from configschema.envvars import env_name_problem

from .helpers import agent_doc, errors, only_error, repo_result, tenant_result


@pytest.mark.parametrize("name", ["LOG_LEVEL", "_x", "a1", "ANTHROPIC_BASE_URL", "HTTP_PROXY"])
def test_names_a_tenant_may_set(name: str) -> None:
    assert env_name_problem(name, "tenant") is None
    result = tenant_result(agent_doc(f"env: {{{name}: v}}"))
    assert result.ok and result.config.agents["a"].env == {name: "v"}


@pytest.mark.parametrize("name", ["1ABC", "A-B", "A.B", "'A B'", "'É'"])
def test_invalid_names(name: str) -> None:
    problem = only_error(tenant_result(agent_doc(f"env: {{{name}: v}}")))
    assert "names match [A-Za-z_][A-Za-z0-9_]*" in problem.message


@pytest.mark.parametrize("layer", ["tenant", "repo"])
@pytest.mark.parametrize("name", ["MATE_JOB_TOKEN", "MATE_", "mate_x"])
def test_mate_names_are_reserved_in_every_layer(layer: str, name: str) -> None:
    problem = env_name_problem(name, layer)  # type: ignore[arg-type]
    assert problem == f"env name {name} is reserved: names starting with MATE_ belong to Mate"


@pytest.mark.parametrize(
    "name",
    [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENROUTER_API_KEY",
        "CLAUDE_CONFIG_DIR",
        "HTTP_PROXY",
        "https_proxy",
        "No_Proxy",
        "ALL_PROXY",
        "GIT_SSH_COMMAND",
        "git_dir",
        "SSH_AUTH_SOCK",
    ],
)
def test_names_a_repository_may_not_set(name: str) -> None:
    result = repo_result(f"version: 1\nagents:\n  reviewer:\n    env: {{{name}: x}}\n")
    assert errors(result) == [
        (
            f"agents.reviewer.env.{name}",
            f"env name {name} is not allowed in .mate.yml: it steers credentials or traffic; "
            "only the tenant config may set it",
        )
    ]


LOADER_NAMES = [
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "BASH_ENV",
    "ENV",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHON",
    "PERL5LIB",
    "PERL5OPT",
    "RUBYOPT",
    "RUBYLIB",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "PATH",
    "HOME",
    "SHELL",
]


@pytest.mark.parametrize("name", LOADER_NAMES)
def test_loader_names_a_repository_may_not_set(name: str) -> None:
    """SPEC §4.8: names that make a program load other code (THREATS T37)."""
    result = repo_result(f"version: 1\nagents:\n  reviewer:\n    env: {{{name}: x}}\n")
    assert errors(result) == [
        (
            f"agents.reviewer.env.{name}",
            f"env name {name} is not allowed in .mate.yml: it makes programs load other code "
            "next to the job credential; only the tenant config may set it",
        )
    ]


@pytest.mark.parametrize("name", LOADER_NAMES)
def test_the_tenant_config_may_set_loader_names(name: str) -> None:
    """Only MATE_ is refused in every layer; the tenant config is trusted with the rest."""
    assert env_name_problem(name, "tenant") is None
    assert tenant_result(agent_doc(f"env: {{{name}: v}}")).ok


def test_every_forbidden_name_of_a_branch_is_reported_at_once() -> None:
    result = repo_result(
        "version: 1\nagents:\n  reviewer:\n"
        "    env: {LD_PRELOAD: /tmp/x.so, NODE_OPTIONS: --require=/tmp/x, BASH_ENV: /tmp/x, OK: y}\n"
    )
    assert [p for p, _ in errors(result)] == [
        "agents.reviewer.env.LD_PRELOAD",
        "agents.reviewer.env.NODE_OPTIONS",
        "agents.reviewer.env.BASH_ENV",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "PROXY_MODE",
        "MY_HTTP_PROXY",
        "GITHUB_TOKEN",
        "SSHD",
        "LANG",
        # Loader names count as the programs read them: exactly, in upper case.
        "env",
        "path",
        "ld_preload",
        "MY_PATH",
        "NODE_ENV",
        "HOMEPAGE",
        "SHELLCHECK_OPTS",
        "ENVIRONMENT",
        "RUBY_VERSION",
        "PERL_VERSION",
    ],
)
def test_similar_names_a_repository_may_set(name: str) -> None:
    assert repo_result(f"version: 1\nagents:\n  reviewer:\n    env: {{{name}: x}}\n").ok


@pytest.mark.parametrize(
    ("value", "kind"), [("1", "an integer"), ("true", "a boolean"), ("", "nothing (null)")]
)
def test_values_must_be_strings(value: str, kind: str) -> None:
    problem = only_error(tenant_result(agent_doc(f"env: {{A: {value}}}")))
    assert problem.path == "agents.a.env.A"
    assert problem.message == f"expected a string value (quote numbers and booleans), got {kind}"


def test_every_bad_name_is_reported() -> None:
    result = tenant_result(agent_doc("env: {MATE_A: x, MATE_B: y, OK: z}"))
    assert [p for p, _ in errors(result)] == ["agents.a.env.MATE_A", "agents.a.env.MATE_B"]
