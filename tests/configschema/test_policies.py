"""configschema.policies: cooldown, concurrency, default timeout, min_actor_role (SPEC §4.9)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from configschema import Policies
from configschema.policies import POLICY_KEYS

from .helpers import errors, tenant_result


def test_defaults() -> None:
    assert Policies() == Policies(
        cooldown=timedelta(0),
        concurrency=2,
        default_timeout=timedelta(hours=1),
        min_actor_role="developer",
    )
    assert tenant_result("version: 1\n").config.policies == Policies()


def test_values_written() -> None:
    result = tenant_result(
        "version: 1\npolicies:\n  cooldown: 5m\n  concurrency: 3\n  default_timeout: 90m\n"
    )
    assert result.config.policies == Policies(timedelta(minutes=5), 3, timedelta(minutes=90))


@pytest.mark.parametrize(
    ("policies", "path", "message"),
    [
        ("{cooldown: 0}", "cooldown", "expected a Go duration such as 30m"),
        (
            "{cooldown: -1m}",
            "cooldown",
            "'-1m' is not a Go duration such as 30s, 5m or 1h30m; expected a Go duration such as 30m",
        ),
        ("{concurrency: 0}", "concurrency", "must be an integer from 1 to 100, got 0"),
        ("{concurrency: 101}", "concurrency", "must be an integer from 1 to 100, got 101"),
        ("{concurrency: '3'}", "concurrency", "expected an integer from 1 to 100, got a string"),
        ("{concurrency: true}", "concurrency", "expected an integer from 1 to 100, got a boolean"),
        ("{default_timeout: 0}", "default_timeout", "expected a Go duration such as 30m"),
        ("{default_timeout: '0'}", "default_timeout", "must be longer than 0"),
        ("{default_timeout: 24h1s}", "default_timeout", "must be at most 24h, got 24h1s"),
        (
            "{retries: 3}",
            "retries",
            f"unknown key retries; expected one of: {', '.join(POLICY_KEYS)}",
        ),
        (
            "{min_actor_role: admin}",
            "min_actor_role",
            "unknown role admin; expected one of: guest, reporter, developer, maintainer, owner",
        ),
        (
            "{min_actor_role: Developer}",
            "min_actor_role",
            "unknown role Developer; expected one of: guest, reporter, developer, maintainer, owner",
        ),
        (
            "{min_actor_role: 30}",
            "min_actor_role",
            "expected one of guest, reporter, developer, maintainer, owner, got an integer",
        ),
    ],
)
def test_errors(policies: str, path: str, message: str) -> None:
    assert errors(tenant_result(f"version: 1\npolicies: {policies}\n")) == [
        (f"policies.{path}", message)
    ]


@pytest.mark.parametrize(
    ("text", "value"), [("'0'", timedelta(0)), ("0s", timedelta(0)), ("48h", timedelta(hours=48))]
)
def test_cooldown_may_be_zero_and_long(text: str, value: timedelta) -> None:
    result = tenant_result(f"version: 1\npolicies: {{cooldown: {text}}}\n")
    assert result.ok and result.config.policies.cooldown == value


def test_policies_must_be_a_mapping() -> None:
    assert errors(tenant_result("version: 1\npolicies: [1]\n")) == [
        ("policies", "expected a mapping of policies, got a list")
    ]


@pytest.mark.parametrize("role", ["guest", "reporter", "developer", "maintainer", "owner"])
def test_min_actor_role_takes_each_gitlab_role(role: str) -> None:
    result = tenant_result(f"version: 1\npolicies: {{min_actor_role: {role}}}\n")
    assert result.ok and result.config.policies.min_actor_role == role
