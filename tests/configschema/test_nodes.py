"""configschema.nodes: node helpers."""

from __future__ import annotations

import pytest

from configschema.nodes import Map, Scalar, Seq, child_path, describe, item_path


def test_paths() -> None:
    assert child_path("", "agents") == "agents"
    assert child_path("agents", "reviewer") == "agents.reviewer"
    assert item_path("agents.reviewer.permissions", 2) == "agents.reviewer.permissions[2]"


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (Map(1, 1), "a mapping"),
        (Seq(1, 1), "a list"),
        (Scalar(1, 1, "x", "str"), "a string"),
        (Scalar(1, 1, 1, "int"), "an integer"),
        (Scalar(1, 1, 1.0, "float"), "a number"),
        (Scalar(1, 1, True, "bool"), "a boolean"),
        (Scalar(1, 1, None, "null"), "nothing (null)"),
    ],
)
def test_describe(node, text: str) -> None:
    assert describe(node) == text


def test_map_get_matches_string_keys_only() -> None:
    value = Scalar(1, 4, "v", "str")
    mapping = Map(
        1,
        1,
        [(Scalar(1, 1, 1, "int"), Scalar(1, 3, "n", "str")), (Scalar(2, 1, "1", "str"), value)],
    )
    assert mapping.get("1") is value
    assert mapping.get("missing") is None
