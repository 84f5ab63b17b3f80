"""configschema.prescan: the fast look for deep flow nesting."""

from __future__ import annotations

import pytest

from configschema.prescan import deep_flow_position


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("[" * 5 + "]" * 5, None),
        ("[" * 6, (1, 6)),
        ("a: " + "[" * 6, (1, 9)),
        ("- " + "{a: " * 6, (1, 23)),
        ("a:\n  [[[\n   [[[\n", (3, 6)),
        ("&x [&y [&z [ !!seq [[[", (1, 22)),
    ],
)
def test_finds_the_first_opener_past_the_limit(text: str, position: tuple[int, int] | None) -> None:
    assert deep_flow_position(text, 5) == position


@pytest.mark.parametrize(
    "text",
    [
        'a: "[[[[[[[[[["\n',  # double-quoted text
        "a: '[[[[[[[[[[ it''s'\n",  # single-quoted text with an escaped quote
        "a: [x, '[[[[[[[[[[']\n",  # quoted text inside a flow collection
        "a: arr[[[[[[[[[[0\n",  # a plain scalar in block context
        "a: 1 # [[[[[[[[[[\n",  # a comment
        "a: |\n  [[[[[[[[[[\n  [[[[[[\nb: [1]\n",  # a literal block scalar
        "a: >-\n  {{{{{{{{{{\nb: 1\n",  # a folded block scalar
        'a: "multi\n  line [[[[[[[[[[\n  end"\n',  # a multi-line quoted scalar
    ],
)
def test_brackets_that_are_text_do_not_count(text: str) -> None:
    assert deep_flow_position(text, 5) is None


def test_block_scalar_ends_at_a_less_indented_line() -> None:
    text = "a: |\n  text [[[[\nb: [[[[[[\n"
    assert deep_flow_position(text, 5) == (3, 9)
