"""Shared documents and helpers for the configuration-language tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

from configschema import Problem, Result, TenantConfig, validate_repo, validate_tenant

FIXTURES = Path(__file__).parent / "fixtures"

# A small valid tenant config most tests build on.
TENANT = """\
version: 1
deny: [merge]
agents:
  base:
    backend: claude-code
    model: anthropic/claude-sonnet-4-6
    system_prompt: You are helpful.
    permissions: [read, comment, push_branch, open_mr, merge]
  reviewer:
    extends: base
    permissions: [read, comment]
  fixer:
    extends: base
    timeout: 30m
    env: {LOG_LEVEL: debug}
triggers:
  - on: mr_opened
    agent: reviewer
  - on: issue_assigned
    agent: fixer
policies:
  default_timeout: 2h
"""


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def tenant_config(text: str = TENANT) -> TenantConfig:
    """A tenant config that must be valid."""
    result = validate_tenant(dedent(text))
    assert result.ok, result.problems
    assert result.config is not None
    return result.config


def repo_result(text: str, tenant: str = TENANT) -> Result:
    return validate_repo(dedent(text), tenant_config(tenant))


def tenant_result(text: str, *, onprem: bool = False) -> Result:
    return validate_tenant(dedent(text), onprem=onprem)


def errors(result: Result) -> list[tuple[str, str]]:
    """(path, message) of every error."""
    return [(p.path, p.message) for p in result.problems if p.severity == "error"]


def warnings(result: Result) -> list[tuple[str, str]]:
    return [(p.path, p.message) for p in result.problems if p.severity == "warning"]


def only_error(result: Result) -> Problem:
    """The single error of a result (fails when there are none or several)."""
    found = [p for p in result.problems if p.severity == "error"]
    assert len(found) == 1, result.problems
    assert result.config is None
    return found[0]


def agent_doc(fields: str, name: str = "a") -> str:
    """A tenant document with one complete agent plus ``fields`` (YAML lines at agent level)."""
    extra = textwrap.indent(dedent(fields), "    ")
    return (
        "version: 1\nagents:\n"
        f"  {name}:\n"
        "    backend: claude-code\n"
        "    model: claude-sonnet-4-6\n"
        "    system_prompt: hi\n"
        "    permissions: [read]\n"
        f"{extra}"
    )
