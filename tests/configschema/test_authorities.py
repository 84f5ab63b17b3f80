"""configschema.authorities: the grantable authorities and lists of them (SPEC §4.7)."""

from __future__ import annotations

import pytest

from configschema import AUTHORITIES
from configschema.authorities import APPROVE_MR_MESSAGE, ordered

from .helpers import errors, only_error, repo_result, tenant_result


def test_the_seven_authorities_in_spec_order() -> None:
    assert AUTHORITIES == (
        "read",
        "comment",
        "push_branch",
        "push_mr_branch",
        "open_mr",
        "touch_ci",
        "merge",
    )
    assert "approve_mr" not in AUTHORITIES


def test_ordered() -> None:
    assert ordered({"merge", "read", "bogus"}) == ("read", "merge")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("version: 1\ndeny: [approve_mr]\n", "deny[0]"),
        (
            "version: 1\nagents:\n  a:\n    backend: claude-code\n    model: m\n"
            "    system_prompt: p\n    permissions: [read, approve_mr]\n",
            "agents.a.permissions[1]",
        ),
        (
            "version: 1\nagents:\n  a:\n    backend: claude-code\n    model: m\n"
            "    system_prompt: p\n    permissions: [read]\ntriggers:\n"
            "  - {on: mr_opened, agent: a, deny: [approve_mr]}\n",
            "triggers[0].deny[0]",
        ),
    ],
)
def test_approve_mr_is_never_grantable(text: str, path: str) -> None:
    problem = only_error(tenant_result(text))
    assert (problem.path, problem.message) == (path, APPROVE_MR_MESSAGE)
    assert APPROVE_MR_MESSAGE == (
        "approve_mr is not a grantable authority; approval is always a human action"
    )


def test_approve_mr_in_mate_yml() -> None:
    result = repo_result("version: 1\nagents:\n  reviewer:\n    permissions: [approve_mr]\n")
    assert ("agents.reviewer.permissions[0]", APPROVE_MR_MESSAGE) in errors(result)


def test_unknown_authority_lists_the_valid_ones() -> None:
    problem = only_error(tenant_result("version: 1\ndeny: [push]\n"))
    assert problem.message == (
        "unknown authority push; valid authorities: read, comment, push_branch, "
        "push_mr_branch, open_mr, touch_ci, merge"
    )


@pytest.mark.parametrize(
    ("deny", "message"),
    [
        ("merge", "expected a list of authorities such as [read, comment], got a string"),
        ("[1]", "expected an authority name, got an integer"),
    ],
)
def test_deny_shape(deny: str, message: str) -> None:
    assert [m for _, m in errors(tenant_result(f"version: 1\ndeny: {deny}\n"))] == [message]


def test_deny_may_be_empty_and_repeat() -> None:
    result = tenant_result("version: 1\ndeny: []\n")
    assert result.ok and result.config.deny == ()
    result = tenant_result("version: 1\ndeny: [merge, merge]\n")
    assert result.ok and result.config.deny == ("merge",)
