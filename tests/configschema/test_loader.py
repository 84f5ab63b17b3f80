"""configschema.loader: YAML loading, positions, and the hostile-input limits (SPEC §4.1)."""

from __future__ import annotations

import pytest

from configschema.loader import MAX_BYTES, MAX_DEPTH, MAX_NODES, load
from configschema.nodes import Map, Scalar, Seq

# Every case runs on both parsers the loader can use (see the ``parser`` fixture).
pytestmark = pytest.mark.usefixtures("parser")


def _messages(text: str | bytes) -> list[str]:
    return [p.message for p in load(text).problems]


def test_builds_nodes_with_one_based_positions() -> None:
    loaded = load("a: 1\nb:\n  - x\n  - {c: d}\n")
    assert not loaded.problems
    root = loaded.root
    assert isinstance(root, Map)
    assert (root.line, root.column) == (1, 1)
    b = root.get("b")
    assert isinstance(b, Seq)
    x, inner = b.items
    assert isinstance(x, Scalar) and (x.value, x.line, x.column) == ("x", 3, 5)
    assert isinstance(inner, Map) and (inner.line, inner.column) == (4, 5)
    assert root.get("a").value == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "tag", "value"),
    [
        ("on", "str", "on"),  # YAML 1.1 would read a boolean
        ("yes", "str", "yes"),
        ("1:30", "str", "1:30"),  # YAML 1.1 would read a sexagesimal number
        ("true", "bool", True),
        ("'1'", "str", "1"),
        ("0x1F", "int", 31),
        ("~", "null", None),
        ("30m", "str", "30m"),
        ("!!str 12", "str", "12"),
    ],
)
def test_scalars_are_resolved_by_yaml_1_2(text: str, tag: str, value: object) -> None:
    node = load(f"k: {text}\n").root.get("k")  # type: ignore[union-attr]
    assert isinstance(node, Scalar)
    assert (node.tag, node.value) == (tag, value)


def test_aliases_are_shared_nodes() -> None:
    loaded = load("a: &x [read]\nb: *x\n")
    root = loaded.root
    assert isinstance(root, Map)
    assert root.get("a") is root.get("b")


@pytest.mark.parametrize(
    ("text", "fragment", "path"),
    [
        ("a: !foo 1\n", "the custom tag !foo is not allowed", "a"),
        ("a:\n  b: !!binary aGk=\n", "the custom tag !!binary is not allowed", "a.b"),
        ("a: !!python/object:os.system x\n", "is not allowed", "a"),
        ("a: !!set {x, y}\n", "the custom tag !!set is not allowed", "a"),
        ("a: !!int x\n", "is not a valid !!int value", "a"),
        ("a: !!seq {x: 1}\n", "does not fit this collection", "a"),
    ],
)
def test_custom_tags_are_errors(text: str, fragment: str, path: str) -> None:
    loaded = load(text)
    assert [p.path for p in loaded.problems] == [path]
    assert fragment in loaded.problems[0].message
    assert loaded.problems[0].severity == "error"


def test_duplicate_keys_are_errors_at_the_second_key() -> None:
    loaded = load("agents:\n  r: {a: 1}\n  r: {a: 2}\n")
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert (problem.path, problem.line, problem.column) == ("agents.r", 3, 3)
    assert problem.message == "duplicate key r; it is already defined on line 2"
    assert not loaded.refused


def test_complex_keys_are_errors() -> None:
    assert _messages("? [a]\n: 1\n") == ["a mapping key must be a plain value"]


def test_multiple_documents_are_refused() -> None:
    loaded = load("version: 1\n---\nversion: 1\n")
    assert loaded.refused and loaded.root is None
    assert [(p.line, p.message) for p in loaded.problems] == [
        (2, "only one YAML document is allowed; remove the '---'")
    ]


def test_a_single_document_may_start_with_a_marker() -> None:
    loaded = load("---\nversion: 1\n...\n")
    assert not loaded.problems and isinstance(loaded.root, Map)


def test_syntax_errors_carry_a_position() -> None:
    loaded = load("a: [1\nb: 2\n")
    assert loaded.refused
    (problem,) = loaded.problems
    assert problem.message.startswith("invalid YAML: ")
    assert problem.line == 2


def test_oversized_input_is_refused_before_parsing() -> None:
    # Not even valid YAML: the size check must come first.
    text = "x: [" + "y" * (300 * 1024)
    loaded = load(text)
    assert loaded.refused
    assert _messages(text) == ["the document is larger than 256 KiB; refused before parsing"]


def test_size_limit_counts_bytes_not_characters() -> None:
    text = "a: " + "é" * (MAX_BYTES // 2)  # fewer characters than the cap, more bytes
    assert len(text) < MAX_BYTES < len(text.encode())
    assert load(text).refused
    assert load(text.encode()).refused


def test_input_at_the_limit_is_parsed() -> None:
    text = "a: " + "b" * (MAX_BYTES - 4) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert not load(text).problems


def test_bytes_must_be_utf8() -> None:
    loaded = load(b"a: \xff\n")
    assert loaded.refused
    assert loaded.problems[0].message.startswith("the file is not UTF-8 text")
    assert not load("a: é\n".encode()).problems


def _alias_bomb(levels: int = 9) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        refs = ", ".join([f"*l{i - 1}"] * 10)
        lines.append(f"l{i}: &l{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_is_refused() -> None:
    loaded = load(_alias_bomb())
    assert loaded.refused and loaded.root is None
    assert loaded.problems[0].message == (
        "the document expands to more than 10,000 nodes (aliases are counted each time "
        "they are used); refused"
    )


def test_aliases_below_the_limit_are_fine() -> None:
    assert not load(_alias_bomb(levels=3)).problems  # about 1,100 nodes expanded


def test_node_limit_applies_without_aliases_too() -> None:
    text = "a: [" + ", ".join(["x"] * (MAX_NODES + 1)) + "]\n"
    assert load(text).refused


@pytest.mark.parametrize("text", ["*1", "a: *x\nb: &x 1\n"])
def test_undefined_alias_is_refused(text: str) -> None:
    loaded = load(text)
    assert loaded.refused
    assert loaded.problems[0].message.endswith("names no anchor defined before it")


def test_recursive_alias_is_refused() -> None:
    loaded = load("a: &a [1, *a]\n")
    assert loaded.refused
    assert loaded.problems[0].message == "the alias *a refers to a node that contains it"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "{a: " * 10_000 + "1" + "}" * 10_000,
        "- " * 10_000 + "x\n",
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 600)),
        "&a [" * 5_000 + "]" * 5_000,
    ],
    ids=["flow-seq", "flow-map", "block-seq", "block-map", "anchored"],
)
def test_deep_nesting_is_refused_without_recursion(text: str) -> None:
    loaded = load(text)
    assert loaded.refused
    assert loaded.problems[0].message == "the document nests deeper than 64 levels; refused"


def test_nesting_up_to_the_limit_is_fine() -> None:
    text = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert not load(text).problems
    assert load("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).refused


def test_empty_document_has_no_root() -> None:
    loaded = load("# nothing here\n")
    assert loaded.root is None and not loaded.problems and not loaded.refused


def test_all_non_fatal_problems_are_reported_together() -> None:
    loaded = load("a: !x 1\nb: 1\nb: 2\nc: !y 2\n")
    assert [p.line for p in loaded.problems] == [1, 3, 4]
    assert isinstance(loaded.root, Map)
