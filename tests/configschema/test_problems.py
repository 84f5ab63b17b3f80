"""configschema.problems: the problem record, its rendering, and results."""

from __future__ import annotations

import pytest

from configschema import Problem, Result
from configschema.problems import ConfigError, Pos, ProblemSink


@pytest.mark.parametrize(
    ("path", "message", "line"),
    [
        (
            "agents.r.permissions[2]",
            "unknown authority x",
            "agents.r.permissions[2]: unknown authority x",
        ),
        ("bots", "bots: is not allowed", "bots: is not allowed"),
        ("agents.a.resources", "resources: was removed", "agents.a.resources: was removed"),
        (
            "agents.a.permissions",
            "agents.a.permissions: not a subset",
            "agents.a.permissions: not a subset",
        ),
        ("triggers[0].when", "when: is accepted", "triggers[0].when: is accepted"),
        ("", "invalid YAML: x", "invalid YAML: x"),
        ("agents.a.extends", "extends cycle: a -> a", "agents.a.extends: extends cycle: a -> a"),
    ],
)
def test_format(path: str, message: str, line: str) -> None:
    problem = Problem("error", path, 3, 7, message)
    assert problem.format("T.yml") == f"T.yml:3:7: error: {line}"


def test_to_dict() -> None:
    problem = Problem("warning", "policies", 1, 2, "m")
    assert problem.to_dict() == {
        "severity": "warning",
        "path": "policies",
        "line": 1,
        "column": 2,
        "message": "m",
    }


def test_problem_is_frozen() -> None:
    problem = Problem("error", "p", 1, 1, "m")
    with pytest.raises(AttributeError):
        problem.line = 2  # type: ignore[misc]


def test_result_sorts_and_hides_config_on_errors() -> None:
    sink = ProblemSink()
    sink.warning(Pos(5, 1), "b", "later")
    sink.error(Pos(2, 9), "a", "first")
    sink.warning(Pos(2, 9), "c", "same place, found after")
    result = Result.from_sink(sink, "config")
    assert [p.message for p in result.problems] == ["first", "same place, found after", "later"]
    assert not result.ok and result.config is None
    assert len(result.errors) == 1 and len(result.warnings) == 2


def test_warnings_alone_keep_the_config() -> None:
    sink = ProblemSink()
    sink.warning(Pos(1, 1), "x", "careful")
    result = Result.from_sink(sink, "config")
    assert result.ok and result.config == "config"


def test_config_error_lists_the_problems() -> None:
    error = ConfigError([Problem("error", "agents.a", 1, 1, "broken")])
    assert str(error) == "agents.a: broken"
    assert isinstance(error, ValueError)
