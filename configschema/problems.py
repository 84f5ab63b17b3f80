"""Problems (errors and warnings) found in a configuration document, and the result of a check.

A problem always names the node it is about: its path (``agents.reviewer.permissions[2]``) and
its 1-based line and column. Checks never stop at the first problem; they collect them all in a
:class:`ProblemSink` and the caller turns the sink into a :class:`Result`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, Protocol, TypeVar

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"

T = TypeVar("T")


class Positioned(Protocol):
    """Anything with a 1-based ``line`` and ``column`` (nodes, recorded positions)."""

    line: int
    column: int


@dataclass(frozen=True)
class Pos:
    """A 1-based position kept after the YAML nodes are gone (for merge-time problems)."""

    line: int
    column: int


DOCUMENT_START = Pos(1, 1)


@dataclass(frozen=True)
class Problem:
    """One error or warning.

    ``message`` is complete on its own. Where SPEC prescribes a text that already names the field
    (``bots: is not allowed ...``, ``agents.NAME.permissions: not a subset ...``) the message is
    exactly that text; :meth:`format` then avoids saying the field name twice.
    """

    severity: Severity
    path: str
    line: int
    column: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "message": self.message,
        }

    def located(self) -> str:
        """``PATH: message``, without repeating a field name the message already starts with."""
        if not self.path or self.message.startswith(self.path + ":"):
            return self.message
        prefix, _, last = self.path.rpartition(".")
        if prefix and self.message.startswith(last + ":"):
            return f"{prefix}.{self.message}"
        return f"{self.path}: {self.message}"

    def format(self, file: str) -> str:
        """``FILE:LINE:COL: error|warning: PATH: message`` (SPEC §4.11)."""
        return f"{file}:{self.line}:{self.column}: {self.severity}: {self.located()}"


class ProblemSink:
    """Collects problems in the order they are found."""

    def __init__(self, problems: list[Problem] | None = None) -> None:
        self.problems: list[Problem] = list(problems or [])

    def error(self, at: Positioned, path: str, message: str) -> None:
        self.problems.append(Problem(ERROR, path, at.line, at.column, message))

    def warning(self, at: Positioned, path: str, message: str) -> None:
        self.problems.append(Problem(WARNING, path, at.line, at.column, message))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)

    def sorted(self) -> list[Problem]:
        """Problems by position; ties keep the order in which they were found."""
        return sorted(self.problems, key=lambda p: (p.line, p.column))


@dataclass(frozen=True)
class Result(Generic[T]):
    """The outcome of validating one document.

    ``config`` is set only when there is no error (warnings allowed); ``problems`` are sorted by
    line and column.
    """

    problems: list[Problem] = field(default_factory=list)
    config: T | None = None

    @property
    def ok(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @classmethod
    def from_sink(cls, sink: ProblemSink, config: T | None) -> Result[T]:
        return cls(problems=sink.sorted(), config=None if sink.has_errors else config)


class ConfigError(ValueError):
    """Raised by :func:`configschema.resolve` when the documents do not fit together."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.located() for p in problems) or "invalid configuration")
