"""configschema.merge: the .mate.yml overlay and the merged configuration (SPEC §4.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from configschema import ConfigError, resolve, validate_repo
from configschema.merge import append_prompt

from .helpers import TENANT, dedent, errors, only_error, repo_result, tenant_config


def _merged(repo: str, tenant: str = TENANT):
    config = tenant_config(tenant)
    result = validate_repo(dedent(repo), config)
    assert result.ok, result.problems
    return resolve(config, result.config)


def test_tenant_alone() -> None:
    merged = resolve(tenant_config())
    assert list(merged.agents) == ["base", "reviewer", "fixer"]
    assert [(t.origin, t.index, t.on) for t in merged.triggers] == [
        ("tenant", 0, "mr_opened"),
        ("tenant", 1, "issue_assigned"),
    ]
    assert merged.deny == frozenset({"merge"})
    assert merged.policies.default_timeout == timedelta(hours=2)


def test_override_by_name_keeps_unset_fields_of_the_tenant_agent() -> None:
    merged = _merged("version: 1\nagents:\n  fixer:\n    model: claude-opus-4-7\n")
    fixer = merged.agents["fixer"]
    assert fixer.model == "claude-opus-4-7"
    assert fixer.system_prompt == "You are helpful."
    assert fixer.timeout == timedelta(minutes=30)
    assert fixer.env == {"LOG_LEVEL": "debug"}
    assert (fixer.origin, fixer.base) == ("repo", "fixer")
    assert merged.agents["reviewer"].origin == "tenant"


def test_repo_maps_replace_whole() -> None:
    merged = _merged("version: 1\nagents:\n  fixer:\n    env: {OTHER: x}\n")
    assert merged.agents["fixer"].env == {"OTHER": "x"}


def test_new_agent_needs_extends() -> None:
    problem = only_error(repo_result("version: 1\nagents:\n  helper:\n    model: m\n"))
    assert problem.path == "agents.helper"
    assert problem.message == (
        "agent helper is not defined in the tenant config; a new agent in .mate.yml needs extends:"
    )
    assert (problem.line, problem.column) == (4, 5)


def test_new_agent_with_extends_crosses_the_layers() -> None:
    # helper -> fixer (tenant) -> base (tenant): the model and prompt come from base.
    merged = _merged("version: 1\nagents:\n  helper:\n    extends: fixer\n    description: new\n")
    helper = merged.agents["helper"]
    assert (helper.model, helper.system_prompt) == (
        "anthropic/claude-sonnet-4-6",
        "You are helpful.",
    )
    assert helper.permissions == ("read", "comment", "push_branch", "open_mr", "merge")
    assert helper.timeout == timedelta(minutes=30)
    assert (helper.origin, helper.base, helper.description) == ("repo", "fixer", "new")
    assert list(merged.agents)[-1] == "helper"


@pytest.mark.parametrize(
    ("repo", "message"),
    [
        (
            "  helper:\n    extends: nobody\n",
            "unknown base agent nobody: an agent in .mate.yml can only extend an agent of the "
            "tenant config (base, reviewer, fixer)",
        ),
        (
            "  one:\n    extends: reviewer\n  two:\n    extends: one\n",
            "unknown base agent one: an agent in .mate.yml can only extend an agent of the "
            "tenant config (base, reviewer, fixer)",
        ),
    ],
)
def test_extends_must_name_a_tenant_agent(repo: str, message: str) -> None:
    problem = only_error(repo_result("version: 1\nagents:\n" + repo))
    assert problem.path.endswith(".extends") and problem.message == message


def test_repo_agents_extend_the_tenant_version_of_an_overridden_agent() -> None:
    repo = "version: 1\nagents:\n  fixer:\n    model: repo-model\n  helper:\n    extends: fixer\n"
    assert _merged(repo).agents["helper"].model == "anthropic/claude-sonnet-4-6"


@pytest.mark.parametrize(
    "permissions",
    ["[read, comment]", "[read]", "[comment, read]"],
    ids=["same", "narrower", "reordered"],
)
def test_same_or_narrower_permissions_are_accepted(permissions: str) -> None:
    merged = _merged(f"version: 1\nagents:\n  reviewer:\n    permissions: {permissions}\n")
    assert set(merged.agents["reviewer"].permissions) <= {"read", "comment"}


@pytest.mark.parametrize(
    ("repo", "name", "base", "adds"),
    [
        (
            "  reviewer:\n    permissions: [read, push_branch, comment, open_mr]\n",
            "reviewer",
            "reviewer",
            "push_branch, open_mr",
        ),
        (
            "  helper:\n    extends: reviewer\n    permissions: [read, merge]\n",
            "helper",
            "reviewer",
            "merge",
        ),
        # Overriding reviewer while extending the wider fixer stays within reviewer.
        (
            "  reviewer:\n    extends: fixer\n",
            "reviewer",
            "reviewer",
            "push_branch, open_mr, merge",
        ),
    ],
)
def test_permissions_must_be_a_subset_of_the_base(
    repo: str, name: str, base: str, adds: str
) -> None:
    problem = only_error(repo_result("version: 1\nagents:\n" + repo))
    assert problem.path == f"agents.{name}.permissions"
    assert problem.message == (
        f"agents.{name}.permissions: not a subset of base agent {base} (adds: {adds})"
    )
    assert problem.format(".mate.yml").endswith(
        f"error: agents.{name}.permissions: not a subset of base agent {base} (adds: {adds})"
    )


def test_override_with_extends_within_both_ceilings() -> None:
    merged = _merged(
        "version: 1\nagents:\n  reviewer:\n    extends: fixer\n    permissions: [read]\n"
    )
    reviewer = merged.agents["reviewer"]
    assert (reviewer.base, reviewer.permissions, reviewer.timeout) == (
        "fixer",
        ("read",),
        timedelta(minutes=30),
    )


def test_system_prompt_append_after_one_blank_line() -> None:
    merged = _merged(
        "version: 1\nagents:\n  reviewer:\n    system_prompt_append: |\n      Also this.\n"
    )
    assert merged.agents["reviewer"].system_prompt == "You are helpful.\n\nAlso this.\n"


@pytest.mark.parametrize(
    ("prompt", "suffix", "joined"),
    [("a\n", "b", "a\n\nb"), ("a", "b\n", "a\n\nb\n"), ("a\n\n\n", "b", "a\n\nb"), ("", "b", "b")],
)
def test_append_prompt(prompt: str, suffix: str, joined: str) -> None:
    assert append_prompt(prompt, suffix) == joined


def test_repo_system_prompt_replaces() -> None:
    merged = _merged("version: 1\nagents:\n  reviewer:\n    system_prompt: Only this.\n")
    assert merged.agents["reviewer"].system_prompt == "Only this."


def test_repo_triggers_are_prepended() -> None:
    repo = """\
    version: 1
    triggers:
      - on: issue_assigned
        agent: reviewer
      - on: mr_opened
        agent: fixer
    """
    merged = _merged(repo)
    assert [(t.origin, t.index, t.agent) for t in merged.triggers] == [
        ("repo", 0, "reviewer"),
        ("repo", 1, "fixer"),
        ("tenant", 0, "reviewer"),
        ("tenant", 1, "fixer"),
    ]


def test_tenant_triggers_see_the_merged_agent_map() -> None:
    merged = _merged("version: 1\nagents:\n  reviewer:\n    permissions: [read]\n")
    tenant_trigger = merged.triggers[0]
    assert tenant_trigger.origin == "tenant"
    assert merged.agents[tenant_trigger.agent].permissions == ("read",)


def test_repo_triggers_may_name_new_repo_agents() -> None:
    repo = "version: 1\nagents:\n  helper: {extends: reviewer}\ntriggers:\n  - {on: mr_opened, agent: helper}\n"
    assert _merged(repo).triggers[0].agent == "helper"
    assert errors(repo_result("version: 1\ntriggers:\n  - {on: mr_opened, agent: ghost}\n")) == [
        ("triggers[0].agent", "unknown agent ghost; agents: base, fixer, reviewer")
    ]


def test_resolve_refuses_a_repo_validated_against_another_tenant() -> None:
    wide = tenant_config(
        TENANT.replace("permissions: [read, comment]", "permissions: [read, merge]")
    )
    repo = validate_repo("version: 1\nagents:\n  reviewer: {permissions: [merge]}\n", wide)
    assert repo.ok
    with pytest.raises(ConfigError, match="not a subset of base agent reviewer"):
        resolve(tenant_config(), repo.config)
