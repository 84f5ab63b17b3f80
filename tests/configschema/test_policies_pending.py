"""configschema.policies: max_cost_per_job, daily_budget, egress, announce (SPEC §4.9).

They are accepted and validated now and enforced later; until then a tenant config that writes
one gets a warning at the key saying what happens today, and the config stays valid.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from configschema import Policies, resolve, validate_repo
from configschema.policies import NOT_ENFORCED

from .helpers import TENANT, errors, tenant_config, tenant_result, warnings

PENDING = ("max_cost_per_job", "daily_budget", "egress", "announce")


def _policies(body: str) -> str:
    """A tenant document whose policies are ``body`` (one YAML line per key, at policy level)."""
    lines = "".join(f"  {line}\n" for line in body.splitlines())
    return f"version: 1\npolicies:\n{lines}"


def _located(result) -> list[tuple[str, str, int, int, str]]:
    return [(p.severity, p.path, p.line, p.column, p.message) for p in result.problems]


# --- defaults and values ------------------------------------------------------------------


def test_defaults() -> None:
    policies = Policies()
    assert policies.max_cost_per_job == Decimal(5)
    assert policies.daily_budget is None
    assert policies.egress == ()
    assert policies.announce == "summary"
    result = tenant_result("version: 1\npolicies: {cooldown: 1m}\n")
    assert result.problems == []
    assert result.config.policies == Policies(cooldown=result.config.policies.cooldown)
    assert tenant_result("version: 1\n").config.policies == policies


def test_values_written() -> None:
    result = tenant_result(
        _policies(
            "max_cost_per_job: 2.5\n"
            "daily_budget: 40\n"
            "egress: [pypi.org, '*.npmjs.org', Files.PythonHosted.org]\n"
            "announce: reaction"
        )
    )
    assert result.ok, result.problems
    policies = result.config.policies
    assert policies.max_cost_per_job == Decimal("2.5")
    assert policies.daily_budget == Decimal(40)
    assert policies.egress == ("pypi.org", "*.npmjs.org", "files.pythonhosted.org")
    assert policies.announce == "reaction"


@pytest.mark.parametrize(
    ("text", "value"),
    [("5", Decimal(5)), ("0.01", Decimal("0.01")), ("1e3", Decimal(1000)), ("0.1", Decimal("0.1"))],
)
def test_amounts_are_exact_decimals(text: str, value: Decimal) -> None:
    config = tenant_result(_policies(f"max_cost_per_job: {text}\ndaily_budget: {text}")).config
    assert (config.policies.max_cost_per_job, config.policies.daily_budget) == (value, value)


def test_any_finite_positive_amount_is_accepted() -> None:
    # SPEC §4.9 sets no upper bound: a cap above anything a job can spend never stops one.
    result = tenant_result(_policies("max_cost_per_job: 1000000000"))
    assert result.ok and result.config.policies.max_cost_per_job == Decimal(10**9)


@pytest.mark.parametrize("empty", ["daily_budget:", "daily_budget: null", "daily_budget: ~"])
def test_empty_daily_budget_means_no_cap_and_gets_no_warning(empty: str) -> None:
    result = tenant_result(_policies(empty))
    assert result.ok and result.config.policies.daily_budget is None
    assert warnings(result) == []  # no cap is what happens today: nothing to warn about


@pytest.mark.parametrize("value", ["none", "reaction", "summary"])
def test_announce_values(value: str) -> None:
    result = tenant_result(_policies(f"announce: {value}"))
    assert result.ok and result.config.policies.announce == value


def test_empty_egress_list() -> None:
    result = tenant_result(_policies("egress: []"))
    assert result.ok and result.config.policies.egress == ()


# --- errors -------------------------------------------------------------------------------

AMOUNT = "a number of US dollars greater than 0, such as 5 or 2.50"


@pytest.mark.parametrize("key", ["max_cost_per_job", "daily_budget"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be greater than 0, got 0"),
        ("0.0", "must be greater than 0, got 0.0"),
        ("-1", "must be greater than 0, got -1"),
        ("'5'", f"expected {AMOUNT}, got a string; write the bare number without quotes or $"),
        ("$5", f"expected {AMOUNT}, got a string; write the bare number without quotes or $"),
        ("true", f"expected {AMOUNT}, got a boolean"),
        ("[5]", f"expected {AMOUNT}, got a list"),
        ("{usd: 5}", f"expected {AMOUNT}, got a mapping"),
        (".inf", f"expected {AMOUNT}, got inf"),
        (".nan", f"expected {AMOUNT}, got nan"),
        ("1e999", f"expected {AMOUNT}, got inf"),
    ],
)
def test_amount_errors(key: str, value: str, message: str) -> None:
    result = tenant_result(_policies(f"{key}: {value}"))
    assert _located(result) == [("error", f"policies.{key}", 3, 3 + len(key) + 2, message)]
    assert result.config is None


def test_max_cost_per_job_cannot_be_switched_off_with_null() -> None:
    # Written empty, an operator may mean "no cap"; the default of 5 would surprise them.
    result = tenant_result(_policies("max_cost_per_job:"))
    assert errors(result) == [
        (
            "policies.max_cost_per_job",
            "expected a number of US dollars greater than 0, got nothing (null); every job has "
            "a cap, so write an amount such as 5 (or leave the key out for the default, 5)",
        )
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("Summary", "unknown value 'Summary'; expected one of: none, reaction, summary"),
        ("comment", "unknown value 'comment'; expected one of: none, reaction, summary"),
        ("''", "unknown value ''; expected one of: none, reaction, summary"),
        ("false", "expected one of: none, reaction, summary, got a boolean"),
        ("[summary]", "expected one of: none, reaction, summary, got a list"),
        (
            "null",
            "expected one of: none, reaction, summary, got nothing (null); for no answers "
            "write none",
        ),
    ],
)
def test_announce_errors(value: str, message: str) -> None:
    result = tenant_result(_policies(f"announce: {value}"))
    assert _located(result) == [("error", "policies.announce", 3, 13, message)]


HOSTS = "a list of host patterns such as pypi.org or '*.npmjs.org'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("pypi.org", f"expected {HOSTS}, got a string; write a list: [pypi.org]"),
        ("null", f"expected {HOSTS}, got nothing (null); write egress: [] for no hosts"),
        ("{pypi.org: 1}", f"expected {HOSTS}, got a mapping"),
        ("5", f"expected {HOSTS}, got an integer"),
    ],
)
def test_egress_must_be_a_list(value: str, message: str) -> None:
    result = tenant_result(_policies(f"egress: {value}"))
    assert _located(result) == [("error", "policies.egress", 3, 11, message)]


def test_egress_items_are_named_by_index_with_their_position() -> None:
    result = tenant_result(
        _policies(
            "egress:\n"
            "  - pypi.org\n"
            "  - https://registry.npmjs.org/\n"
            "  - 8080\n"
            "  - '*.com'\n"
            "  - PYPI.org\n"
            "  - '*.npmjs.org'"
        )
    )
    assert _located(result) == [
        (
            "error",
            "policies.egress[1]",
            5,
            7,
            "'https://registry.npmjs.org/' is a URL; write the host name alone: registry.npmjs.org",
        ),
        (
            "error",
            "policies.egress[2]",
            6,
            7,
            "expected a host pattern such as pypi.org or '*.npmjs.org', got an integer",
        ),
        (
            "error",
            "policies.egress[3]",
            7,
            7,
            "'*.com' would allow every host under .com; a wildcard needs at least two labels "
            "after it, such as '*.npmjs.org'",
        ),
        ("error", "policies.egress[4]", 8, 7, "pypi.org is already listed at policies.egress[0]"),
    ]
    assert result.config is None


def test_an_unquoted_wildcard_is_explained() -> None:
    # `*` starts a YAML alias; the loader says how to write the pattern instead.
    result = tenant_result(_policies("egress: [pypi.org, *.npmjs.org]"))
    assert errors(result) == [
        (
            "policies.egress[1]",
            "the alias *.npmjs.org names no anchor defined before it; a host pattern must be "
            "quoted: '*.npmjs.org'",
        )
    ]


def test_all_problems_are_reported_at_once() -> None:
    result = tenant_result(
        _policies("max_cost_per_job: 0\ndaily_budget: '3'\negress: [x]\nannounce: loud")
    )
    paths = [f"policies.{k}" for k in PENDING]
    assert [p for p, _ in errors(result)] == [*paths[:2], "policies.egress[0]", paths[3]]


def test_a_misspelt_key_is_an_error_listing_the_keys() -> None:
    message = errors(tenant_result(_policies("max_cost: 5")))[0][1]
    assert message.startswith("unknown key max_cost; expected one of: ")
    assert all(key in message for key in PENDING)


# --- warnings until the keys are enforced ---------------------------------------------------

WRITTEN = {
    "max_cost_per_job": "max_cost_per_job: 3",
    "daily_budget": "daily_budget: 20",
    "egress": "egress: [pypi.org]",
    "announce": "announce: summary",
}


@pytest.mark.parametrize("key", PENDING)
def test_each_key_written_warns_at_the_key_and_stays_valid(key: str) -> None:
    result = tenant_result(_policies(f"cooldown: 1m\n{WRITTEN[key]}"))
    assert result.ok and result.config is not None
    assert _located(result) == [("warning", f"policies.{key}", 4, 3, NOT_ENFORCED[key])]


def test_warning_texts_say_what_happens_today() -> None:
    assert NOT_ENFORCED == {
        "max_cost_per_job": (
            "accepted but not enforced yet: a job's LLM spend is not capped; the job's "
            "container calls the LLM provider directly with the tenant's key"
        ),
        "daily_budget": (
            "accepted but not enforced yet: the tenant's LLM spend per day is not capped and "
            "jobs keep starting; job containers call the LLM provider directly with the "
            "tenant's key"
        ),
        "egress": (
            "accepted but not enforced yet: jobs can still reach any host; job containers have "
            "direct network access and there is no egress proxy"
        ),
        "announce": (
            "accepted but not enforced yet: Mate itself posts nothing in GitLab (no 👀 award, "
            "no closing note); only what the agent writes with its tools appears there"
        ),
    }


def test_all_four_warn_together_and_disappear_when_the_keys_are_absent() -> None:
    result = tenant_result(_policies("\n".join(WRITTEN.values())))
    assert [p for p, _ in warnings(result)] == [f"policies.{k}" for k in PENDING]
    assert tenant_result(_policies("cooldown: 1m\nconcurrency: 3")).problems == []
    assert tenant_result("version: 1\n").problems == []


def test_announce_none_is_what_happens_today_so_it_does_not_warn() -> None:
    result = tenant_result(_policies("announce: none"))
    assert result.ok and result.problems == []


def test_an_invalid_value_gives_its_error_and_no_warning() -> None:
    result = tenant_result(_policies("egress: ['pypi.org:443']"))
    assert [p.severity for p in result.problems] == ["error"]


def test_the_validate_command_prints_the_warning_and_exits_0(tmp_path) -> None:
    path = tmp_path / "t.yml"
    path.write_text(_policies("egress: [pypi.org]"))
    out = io.StringIO()
    call_command("mate", "validate", "--tenant", str(path), stdout=out)  # exit 0: no SystemExit
    assert out.getvalue() == f"{path}:3:3: warning: policies.egress: {NOT_ENFORCED['egress']}\n"


# --- .mate.yml: validated, ignored, not warned about twice ---------------------------------


def test_repo_policies_are_validated_but_only_the_ignored_warning_is_given() -> None:
    tenant = tenant_config()
    repo = validate_repo(_policies("\n".join(WRITTEN.values())), tenant)
    assert repo.ok
    assert warnings(repo) == [
        ("policies", "policies in .mate.yml are accepted but ignored; the tenant policies apply")
    ]
    bad = validate_repo(_policies("egress: ['*']"), tenant)
    assert errors(bad) == [
        (
            "policies.egress[0]",
            "a bare * would allow every host; list the hosts jobs need, such as pypi.org or "
            "'*.npmjs.org'",
        )
    ]


def test_only_the_tenant_policies_apply() -> None:
    tenant = tenant_result(TENANT + "  egress: [pypi.org]\n  announce: reaction\n").config
    repo = validate_repo(
        _policies("egress: ['*.example.com']\nannounce: none\nmax_cost_per_job: 99"), tenant
    ).config
    merged = resolve(tenant, repo)
    assert merged.policies.egress == ("pypi.org",)
    assert merged.policies.announce == "reaction"
    assert merged.policies.max_cost_per_job == Decimal(5)
