"""The seed documents' examples (shared/seeds/001 .mate.yml reference, 002 tenant configuration)
validate and behave as those pages document. The complete examples live in fixtures/; smaller
snippets are inline. Where SPEC.md overrides a seed, the test says so."""

from __future__ import annotations

from datetime import timedelta

import pytest

from configschema import EventFacts, match, resolve, validate_repo, validate_tenant

from .helpers import FIXTURES, dedent, errors, tenant_config, warnings


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


# Seed 001's snippets extend "senior-reviewer" and "contributor", which it never shows.
SNIPPET_TENANT = """\
version: 1
agents:
  senior-reviewer:
    backend: claude-code
    model: anthropic/claude-opus-4-7
    system_prompt: You review.
    permissions: [read, comment, push_branch]
  reviewer:
    extends: senior-reviewer
    permissions: [read, comment]
  contributor:
    backend: claude-code
    model: anthropic/claude-sonnet-4-6
    system_prompt: You contribute.
    permissions: [read, comment, push_branch, open_mr]
"""


def test_seed_002_complete_example() -> None:
    result = validate_tenant(_fixture("seed_tenant.yml"))
    assert result.ok and result.problems == []
    config = result.config
    assert list(config.agents) == ["reviewer", "fixer", "ci-assistant"]
    fixer = config.agents["fixer"]
    assert fixer.backend == "claude-code"  # inherited from reviewer
    assert fixer.model == "anthropic/claude-opus-4-7"
    assert fixer.permissions == ("read", "comment", "push_branch", "open_mr")
    assert config.agents["ci-assistant"].timeout == timedelta(minutes=45)
    assert config.agents["reviewer"].timeout == timedelta(hours=1)  # policies.default_timeout
    assert (config.policies.cooldown, config.policies.concurrency) == (timedelta(minutes=5), 3)


@pytest.mark.parametrize(
    ("facts", "agent", "authorities"),
    [
        (
            EventFacts(
                event="label_applied", object_kind="merge_request", new_label="agent/review"
            ),
            "reviewer",
            {"read", "comment"},
        ),
        (
            EventFacts(event="issue_assigned", object_kind="issue"),
            "fixer",
            {"read", "comment", "push_branch", "open_mr"},
        ),
        (
            EventFacts(event="pipeline_failed", object_kind="pipeline"),
            "ci-assistant",
            {"read", "comment", "push_mr_branch", "touch_ci"},
        ),
        (
            EventFacts(event="comment_mention", object_kind="issue", mentioned="mate"),
            "reviewer",
            {"read", "comment"},
        ),
        (EventFacts(event="label_applied", object_kind="issue", new_label="agent/fix"), None, None),
        (EventFacts(event="mr_opened", object_kind="merge_request"), None, None),
    ],
)
def test_seed_002_routing(
    facts: EventFacts, agent: str | None, authorities: set[str] | None
) -> None:
    found = match(resolve(tenant_config(_fixture("seed_tenant.yml"))), facts)
    if agent is None:
        assert found is None
    else:
        assert (found.agent.name, found.authorities) == (agent, frozenset(authorities))


def test_seed_001_complete_example() -> None:
    tenant = tenant_config(_fixture("seed_repo_tenant.yml"))
    result = validate_repo(_fixture("seed_repo.yml"), tenant)
    assert result.ok and result.problems == []
    merged = resolve(tenant, result.config)
    reviewer = merged.agents["reviewer"]
    assert reviewer.system_prompt.startswith("You are a senior code reviewer.")
    assert "Be concise.\n\nThis repository contains a payment processor." in reviewer.system_prompt
    docs = merged.agents["docs-writer"]
    assert (docs.base, docs.permissions) == ("contributor", ("read", "comment", "push_branch"))
    assert docs.system_prompt == (
        "You are a careful contributor.\n\nYou only touch files under docs/ and *.md files at "
        "the repo root.\nNever modify source code.\n"
    )
    assert [(t.origin, t.on) for t in merged.triggers[:4]] == [
        ("repo", "mr_opened"),
        ("repo", "issue_assigned"),
        ("repo", "pipeline_failed"),
        ("tenant", "mr_opened"),
    ]
    mr = EventFacts(
        event="mr_opened", object_kind="merge_request", target_branch="main", draft=False
    )
    assert match(merged, mr).trigger.origin == "repo"  # "Shadow the tenant's mr_opened trigger"
    draft = EventFacts(
        event="mr_opened", object_kind="merge_request", target_branch="main", draft=True
    )
    assert match(merged, draft).trigger.origin == "tenant"
    issue = EventFacts(event="issue_assigned", object_kind="issue", assignees=("mate-docs",))
    assert match(merged, issue).agent.name == "docs-writer"
    pipeline = match(merged, EventFacts(event="pipeline_failed", object_kind="pipeline"))
    assert pipeline.agent.name == "reviewer" and pipeline.authorities == {"read", "comment"}


def test_seed_002_inheritance_example() -> None:
    text = """\
    version: 1
    agents:
      base:
        backend: claude-code
        model: anthropic/claude-sonnet-4-6
        system_prompt: |
          You are a senior engineer at this company.
        permissions: [read, comment, push_branch, open_mr]

      junior:
        extends: base
        model: anthropic/claude-haiku-4-5    # override model only
        permissions: [read, comment]         # narrower than base — OK

      senior:
        extends: base
        model: anthropic/claude-opus-4-7     # override model only
        # inherits base permissions unchanged
    """
    agents = tenant_config(text).agents
    assert agents["junior"].permissions == ("read", "comment")
    assert agents["senior"].permissions == ("read", "comment", "push_branch", "open_mr")
    assert agents["senior"].system_prompt == "You are a senior engineer at this company.\n"


def test_seed_002_deny_and_env_examples() -> None:
    # SPEC §4.8: a tenant may set ANTHROPIC_* (only MATE_* is reserved everywhere).
    text = """\
    version: 1
    deny:
      - push_branch
      - merge
    agents:
      reviewer:
        backend: claude-code
        model: anthropic/claude-sonnet-4-6
        system_prompt: Review.
        permissions: [read, comment, push_branch, open_mr]
        timeout: 30m
        env:
          ANTHROPIC_BASE_URL: "https://openrouter.ai/api/v1"
          ANTHROPIC_AUTH_TOKEN: "sk-or-v1-..."
    triggers:
      - on: mr_opened
        agent: reviewer
    """
    merged = resolve(tenant_config(text))
    found = match(merged, EventFacts(event="mr_opened", object_kind="merge_request"))
    assert found.authorities == frozenset({"read", "comment", "open_mr"})
    assert found.agent.env["ANTHROPIC_BASE_URL"] == "https://openrouter.ai/api/v1"


def test_seed_env_example_in_a_mate_yml_is_refused() -> None:
    # SPEC §4.8 overrides seed 002 here: a .mate.yml may not steer the LLM endpoint.
    repo = 'version: 1\nagents:\n  reviewer:\n    env:\n      ANTHROPIC_BASE_URL: "https://x"\n'
    result = validate_repo(repo, tenant_config(SNIPPET_TENANT))
    assert [p for p, _ in errors(result)] == ["agents.reviewer.env.ANTHROPIC_BASE_URL"]


# Seed 001's "Permission subset enforcement" table, case by case.
@pytest.mark.parametrize(
    ("agents", "error"),
    [
        ("  reviewer:\n    permissions: [read]\n", None),
        ("  reviewer:\n    permissions: [read, comment]\n", None),
        (
            "  reviewer:\n    permissions: [read, comment, merge]\n",
            "agents.reviewer.permissions: not a subset of base agent reviewer (adds: merge)",
        ),
        ("  helper:\n    extends: contributor\n    permissions: [read]\n", None),
        (
            "  helper:\n    extends: contributor\n    permissions: [read, touch_ci]\n",
            "agents.helper.permissions: not a subset of base agent contributor (adds: touch_ci)",
        ),
        (
            "  helper:\n    permissions: [read]\n",
            "agent helper is not defined in the tenant config; a new agent in .mate.yml needs extends:",
        ),
    ],
)
def test_seed_001_permission_subset_table(agents: str, error: str | None) -> None:
    result = validate_repo("version: 1\nagents:\n" + agents, tenant_config(SNIPPET_TENANT))
    assert [m for _, m in errors(result)] == ([] if error is None else [error])


def test_seed_001_snippets() -> None:
    text = """\
    version: 1
    agents:
      repo-security-agent:
        extends: senior-reviewer # must exist in tenant config
        system_prompt_append: |
          Focus exclusively on security issues in this diff.
        permissions: [read, comment] # must be a subset of senior-reviewer's permissions
      reviewer:
        system_prompt_append: |
          This repository uses Conventional Commits for all commit messages.
    triggers:
      # Working alternative to assignee_in: use if: assignee
      - on: mr_assigned
        agent: reviewer
        if:
          assignee: mate-junior
      - on: mr_opened
        agent: contributor
        deny: [push_branch, open_mr] # read and comment only for this trigger
    """
    tenant = tenant_config(SNIPPET_TENANT)
    result = validate_repo(dedent(text), tenant)
    assert result.ok, result.problems
    merged = resolve(tenant, result.config)
    found = match(merged, EventFacts(event="mr_opened", object_kind="merge_request"))
    assert found.authorities == frozenset({"read", "comment"})
    assigned = EventFacts(
        event="mr_assigned", object_kind="merge_request", assignees=("mate-junior",)
    )
    assert match(merged, assigned).agent.name == "reviewer"


def test_seed_001_rules_stated_in_prose() -> None:
    tenant = tenant_config(SNIPPET_TENANT)
    bots = validate_repo("version: 1\nbots: [x]\n", tenant)
    assert errors(bots) == [
        ("bots", "bots: is not allowed in .mate.yml; only the tenant YAML may declare bots.")
    ]
    both = "version: 1\nagents:\n  reviewer:\n    system_prompt: a\n    system_prompt_append: b\n"
    assert not validate_repo(both, tenant).ok
    tenant_append = SNIPPET_TENANT + "  x:\n    extends: reviewer\n    system_prompt_append: b\n"
    assert not validate_tenant(tenant_append).ok
    policies = validate_repo("version: 1\npolicies: {cooldown: 1m}\n", tenant)
    assert policies.ok and len(warnings(policies)) == 1
    # SPEC §4.6 adds a warning to seed 001's "when: is accepted for schema compatibility".
    when = (
        "version: 1\ntriggers:\n  - {on: mr_assigned, agent: reviewer, when: {assignee_in: [a]}}\n"
    )
    assert warnings(validate_repo(when, tenant)) == [
        ("triggers[0].when", "when: is accepted but not enforced; use if:")
    ]
    cycle = "version: 1\nagents:\n  a: {extends: b}\n  b: {extends: a}\n"
    assert [m for _, m in errors(validate_tenant(cycle))] == ["extends cycle: a -> b -> a"]
