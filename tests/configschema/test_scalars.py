"""configschema.scalars: YAML 1.2 core schema resolution and explicit tags."""

from __future__ import annotations

import math

import pytest

from configschema.scalars import ScalarError, core_tag, resolve_plain, resolve_scalar, short_tag

CORE = "tag:yaml.org,2002:"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("null", None)),
        ("~", ("null", None)),
        ("NULL", ("null", None)),
        ("True", ("bool", True)),
        ("FALSE", ("bool", False)),
        ("yes", ("str", "yes")),
        ("off", ("str", "off")),
        ("-17", ("int", -17)),
        ("0o17", ("int", 15)),
        ("0xff", ("int", 255)),
        ("1_000", ("str", "1_000")),
        ("1.5", ("float", 1.5)),
        ("1e3", ("float", 1000.0)),
        ("-.inf", ("float", -math.inf)),
        ("30m", ("str", "30m")),
        ("0", ("int", 0)),
    ],
)
def test_core_schema(text: str, expected: tuple[str, object]) -> None:
    assert resolve_plain(text) == expected


def test_nan() -> None:
    tag, value = resolve_plain(".nan")
    assert tag == "float" and math.isnan(value)  # type: ignore[arg-type]


def test_oversized_integers_are_refused_not_converted() -> None:
    with pytest.raises(ScalarError, match="too long"):
        resolve_plain("9" * 5000)


def test_quoted_and_block_scalars_are_strings() -> None:
    assert resolve_scalar("true", False, None) == ("str", "true")
    assert resolve_scalar("12", True, "!") == ("str", "12")


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("12", "str", ("str", "12")),
        ("12", "int", ("int", 12)),
        ("12", "float", ("float", 12.0)),
        ("true", "bool", ("bool", True)),
        ("", "null", ("null", None)),
    ],
)
def test_core_tags_are_honoured(text: str, tag: str, expected: tuple[str, object]) -> None:
    assert resolve_scalar(text, True, CORE + tag) == expected


@pytest.mark.parametrize(("text", "tag"), [("x", "int"), ("1", "bool"), ("a", "map")])
def test_core_tags_must_fit_the_value(text: str, tag: str) -> None:
    with pytest.raises(ScalarError):
        resolve_scalar(text, True, CORE + tag)


def test_tag_names() -> None:
    assert core_tag(None) == "" and core_tag("!") == ""
    assert core_tag(CORE + "str") == "str"
    assert core_tag(CORE + "binary") is None
    assert core_tag("!env") is None
    assert short_tag(CORE + "binary") == "!!binary"
    assert short_tag("!env") == "!env"
