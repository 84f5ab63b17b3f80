"""configschema.document: the top level of both documents (SPEC §4.2) and the entry points."""

from __future__ import annotations

import pytest

from configschema import RepoConfig, TenantConfig, validate_repo, validate_tenant

from .helpers import TENANT, errors, only_error, repo_result, tenant_config, tenant_result, warnings


def test_minimal_tenant_is_valid() -> None:
    result = validate_tenant("version: 1\n")
    assert result.ok and result.problems == []
    assert isinstance(result.config, TenantConfig)
    assert result.config.agents == {} and result.config.triggers == ()


def test_minimal_repo_is_valid() -> None:
    result = repo_result("version: 1\n")
    assert result.ok and isinstance(result.config, RepoConfig)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents: {}\n", "version: is required; write version: 1"),
        ("version: 2\n", "version must be the integer 1, got 2"),
        ("version: '1'\n", "version must be the integer 1, got '1'"),
        ("version: true\n", "version must be the integer 1, got True"),
        ("version: 1.0\n", "version must be the integer 1, got 1.0"),
        ("version: [1]\n", "version must be the integer 1, got a list"),
    ],
)
@pytest.mark.parametrize("layer", ["tenant", "repo"])
def test_version_must_be_the_integer_1(text: str, message: str, layer: str) -> None:
    result = tenant_result(text) if layer == "tenant" else repo_result(text)
    problem = only_error(result)
    assert (problem.path, problem.message) == ("version", message)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the document is empty; it needs at least version: 1"),
        ("# only a comment\n", "the document is empty; it needs at least version: 1"),
        ("- version: 1\n", "expected a mapping with version: 1 at the top, got a list"),
        ("hello\n", "expected a mapping with version: 1 at the top, got a string"),
    ],
)
def test_the_document_must_be_a_mapping(text: str, message: str) -> None:
    assert errors(validate_tenant(text)) == [("", message)]


def test_bots_in_the_tenant_config() -> None:
    problem = only_error(tenant_result("version: 1\nbots: [mate-bot]\n"))
    assert problem.message == (
        "bots: is not allowed in the tenant config; register bots in the Bots tab"
    )
    assert (problem.path, problem.line, problem.column) == ("bots", 2, 1)


def test_bots_in_mate_yml() -> None:
    problem = only_error(repo_result("version: 1\nbots: {x: 1}\n"))
    assert (
        problem.message
        == "bots: is not allowed in .mate.yml; only the tenant YAML may declare bots."
    )
    assert problem.format(".mate.yml") == (
        ".mate.yml:2:1: error: bots: is not allowed in .mate.yml; only the tenant YAML may "
        "declare bots."
    )


def test_deny_is_a_tenant_key_only() -> None:
    assert tenant_result("version: 1\ndeny: [merge]\n").ok
    problem = only_error(repo_result("version: 1\ndeny: [merge]\n"))
    assert problem.path == "deny"
    assert problem.message.startswith("unknown key deny; expected one of: version, agents")


@pytest.mark.parametrize("layer", ["tenant", "repo"])
def test_unknown_top_level_keys_reject_the_document(layer: str) -> None:
    text = "version: 1\nagent: {}\n"
    result = tenant_result(text) if layer == "tenant" else repo_result(text)
    problem = only_error(result)
    assert problem.path == "agent"
    assert problem.message.startswith("unknown key agent; expected one of: version, ")


def test_non_string_top_level_key() -> None:
    problem = only_error(tenant_result("version: 1\n1: x\n"))
    assert problem.message.startswith("unknown key 1 (an integer); expected one of")


def test_policies_in_mate_yml_warn_and_are_validated() -> None:
    result = repo_result("version: 1\npolicies:\n  cooldown: 1m\n")
    assert result.ok
    assert warnings(result) == [
        ("policies", "policies in .mate.yml are accepted but ignored; the tenant policies apply")
    ]
    bad = repo_result("version: 1\npolicies:\n  concurrency: 0\n")
    assert errors(bad) == [("policies.concurrency", "must be an integer from 1 to 100, got 0")]


def test_empty_collections_may_be_left_blank() -> None:
    result = tenant_result("version: 1\ndeny:\nagents:\ntriggers:\npolicies:\n")
    assert result.ok, result.problems


def test_all_problems_are_reported_at_once() -> None:
    text = (
        "version: 3\n"
        "bots: []\n"
        "agents:\n  a: {backend: vim}\n"
        "triggers:\n  - on: never\n    agent: a\n"
        "policies: {cooldown: 5}\n"
    )
    result = tenant_result(text)
    assert [p.line for p in result.errors] == [1, 2, 4, 4, 6, 8]
    assert result.config is None


def test_problems_are_sorted_by_position() -> None:
    result = tenant_result("version: 1\npolicies: {concurrency: 0}\nbots: 1\ndeny: [x]\n")
    positions = [(p.line, p.column) for p in result.problems]
    assert positions == sorted(positions) and len(positions) == 3


def test_hostile_documents_are_refused_with_one_clear_error() -> None:
    big = "version: 1\n# " + "x" * (300 * 1024) + "\n"
    assert errors(validate_tenant(big)) == [
        ("", "the document is larger than 256 KiB; refused before parsing")
    ]
    assert errors(validate_repo(big, tenant_config())) == [
        ("", "the document is larger than 256 KiB; refused before parsing")
    ]


def test_loader_problems_and_schema_problems_are_reported_together() -> None:
    result = tenant_result("version: 1\nversion: 1\nbots: !x []\n")
    messages = [p.message for p in result.errors]
    assert messages[0] == "duplicate key version; it is already defined on line 1"
    assert messages[1].startswith("bots: is not allowed")  # line 3, column 1
    assert "custom tag !x" in messages[2]  # line 3, column 7


def test_bytes_are_accepted() -> None:
    assert validate_tenant(TENANT.encode()).ok


def _bomb() -> str:
    lines = ["version: 1", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_bomb(), "the document expands to more than 10,000 nodes"),
        ("[" * 10_000 + "]" * 10_000, "the document nests deeper than 64 levels; refused"),
        ("version: 1\nx:\n" + "  - " * 10_000 + "x\n", "the document nests deeper than 64 levels"),
        ("version: 1\n#" + "x" * (300 * 1024), "the document is larger than 256 KiB"),
        (
            "version: 1\nagents: !!python/object/apply:os.system [id]\n",
            "the custom tag !!python/object/apply:os.system is not allowed",
        ),
    ],
    ids=["alias-bomb", "deep-flow", "deep-block", "300KiB", "custom-tag"],
)
@pytest.mark.parametrize("layer", ["tenant", "repo"])
def test_hostile_inputs_are_refused(text: str, message: str, layer: str) -> None:
    result = validate_tenant(text) if layer == "tenant" else validate_repo(text, tenant_config())
    assert not result.ok and result.config is None
    assert result.errors[0].message.startswith(message)
