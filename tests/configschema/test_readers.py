"""configschema.readers: typed readers report and return None on a wrong type."""

from __future__ import annotations

from datetime import timedelta

from configschema.nodes import Map, Scalar, Seq
from configschema.problems import ProblemSink
from configschema.readers import as_duration, as_int, as_str, entries, str_list


def _s(value, tag="str") -> Scalar:
    return Scalar(3, 5, value, tag)


def test_as_str_reports_at_the_node() -> None:
    sink = ProblemSink()
    assert as_str(_s("x"), "p", sink) == "x"
    assert as_str(_s(5, "int"), "p", sink, "a name") is None
    assert as_str(_s("  "), "p", sink) is None
    assert [(p.line, p.column, p.message) for p in sink.problems] == [
        (3, 5, "expected a name, got an integer"),
        (3, 5, "expected a string, got an empty string"),
    ]


def test_as_int_rejects_booleans_and_range() -> None:
    sink = ProblemSink()
    assert as_int(_s(True, "bool"), "p", sink, 1, 3) is None
    assert as_int(_s(4, "int"), "p", sink, 1, 3) is None
    assert as_int(_s(2, "int"), "p", sink, 1, 3) == 2
    assert len(sink.problems) == 2


def test_str_list() -> None:
    sink = ProblemSink()
    assert str_list(_s("a"), "p", sink, "label") == ("a",)
    assert str_list(Seq(1, 1, [_s("a"), _s("b")]), "p", sink, "label") == ("a", "b")
    assert str_list(_s("a"), "p", sink, "label", single=False) is None
    assert str_list(Seq(1, 1, [_s("a"), _s(1, "int")]), "p", sink, "label") is None
    assert [p.path for p in sink.problems] == ["p", "p[1]"]


def test_as_duration() -> None:
    sink = ProblemSink()
    assert as_duration(_s("0"), "p", sink, positive=False, limit=None) == timedelta(0)
    assert as_duration(_s("90m"), "p", sink, positive=True, limit=timedelta(hours=1)) is None
    assert sink.problems[0].message == "must be at most 1h, got 90m"


def test_entries_reports_unknown_and_special_keys() -> None:
    sink = ProblemSink()
    mapping = Map(1, 1, [(_s("a"), _s(1, "int")), (_s("b"), _s(2, "int")), (_s("c"), _s(3, "int"))])
    found = entries(mapping, "root", sink, ("a",), {"b": "b: is special"})
    assert list(found) == ["a"]
    assert [(p.path, p.message) for p in sink.problems] == [
        ("root.b", "b: is special"),
        ("root.c", "unknown key c; expected one of: a"),
    ]
