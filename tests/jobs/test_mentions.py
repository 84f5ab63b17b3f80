"""The mention matcher (SPEC §5.2, Note Hook): table of cases and hypothesis properties."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jobs.events import mentioned_usernames, visible_text

BOTS = ["mate-bot", "mate.review", "m"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # plain mentions and where they may stand
        ("@mate-bot please fix", ["mate-bot"]),
        ("please fix @mate-bot", ["mate-bot"]),
        ("hey (@mate-bot) look", ["mate-bot"]),
        ("cc:@mate-bot", ["mate-bot"]),
        ("line one\n@mate-bot on line two", ["mate-bot"]),
        ("**@mate-bot** bold", ["mate-bot"]),
        ("@@mate-bot", ["mate-bot"]),
        ("tab\t@mate-bot", ["mate-bot"]),
        # forbidden characters before the @
        ("mail me@mate-bot", []),
        ("x_@mate-bot", []),
        ("1@mate-bot", []),
        ("a.@mate-bot", []),
        ("a-@mate-bot", []),
        ("path/@mate-bot", []),
        ("é@mate-bot", []),
        # what follows the name
        ("@mate-bot.", ["mate-bot"]),
        ("@mate-bot...", ["mate-bot"]),
        ("@mate-bot, please", ["mate-bot"]),
        ("@mate-bot: please", ["mate-bot"]),
        ("@mate-bot! now", ["mate-bot"]),
        ("@mate-bot's turn", ["mate-bot"]),
        ("@mate-bot/x", ["mate-bot"]),
        ("@mate-bot. Next sentence", ["mate-bot"]),
        ("@mate-bot2", []),
        ("@mate-bot-2", []),
        ("@mate-bot_", []),
        ("@mate-botx", []),
        ("@mate-bot.x", []),  # GitLab reads this as the user `mate-bot.x`
        ("@mate-bot..x", []),
        ("@mate-bot.-", []),
        # usernames containing dots
        ("@mate.review please", ["mate.review"]),
        ("@mate.review.", ["mate.review"]),
        ("@mate", []),  # not a candidate, and not `m`
        ("@m.", ["m"]),
        ("@m.review", []),
        # case-sensitive
        ("@Mate-Bot", []),
        ("@MATE-BOT", []),
        # several, in candidate order, each once
        ("@m and @mate.review and @mate-bot and @mate-bot", ["mate-bot", "mate.review", "m"]),
        # inline code
        ("`@mate-bot`", []),
        ("run `make @mate-bot` then", []),
        ("``code with ` and @mate-bot``", []),
        ("`code` @mate-bot", ["mate-bot"]),
        ("an unmatched ` backtick @mate-bot", ["mate-bot"]),
        ("``two then one` @mate-bot", ["mate-bot"]),
        ("`first paragraph\n\n@mate-bot` second", ["mate-bot"]),
        ("`span over\n@mate-bot a line break`", []),
        # fenced code blocks
        ("```\n@mate-bot\n```", []),
        ("```python\nprint('@mate-bot')\n```\n@mate.review", ["mate.review"]),
        ("~~~\n@mate-bot\n~~~", []),
        ("  ```\n@mate-bot\n  ```", []),
        ("````\n```\n@mate-bot\n````", []),
        ("```\nunclosed fence @mate-bot", []),
        ("~~~\n@mate-bot\n```\nstill code\n~~~\n@m", ["m"]),
        ("```inline``` @mate-bot", ["mate-bot"]),
        ("```\n@mate-bot\n```\r\n@m", ["m"]),
        # quoted lines
        ("> @mate-bot said this", []),
        ("   > @mate-bot said this", []),
        (">@mate-bot", []),
        ("> quoted\n@mate-bot not quoted", ["mate-bot"]),
        ("a > @mate-bot mid-line is not a quote", ["mate-bot"]),
        # GitLab's multi-line blockquote
        (">>>\n@mate-bot wrote\n>>>\n@m", ["m"]),
        (">>>\nquoted\n\n@mate-bot\n>>>", []),
        (">>>\nno closing line, @mate-bot counts", ["mate-bot"]),
        # indented code blocks
        ("    @mate-bot", []),
        ("text\n\n    @mate-bot in code\n\n@m", ["m"]),
        ("\t@mate-bot", []),
        ("code:\n\n    a\n\n    @mate-bot still code", []),
        ("a paragraph\n    @mate-bot continues it", ["mate-bot"]),
        ("- item\n\n    @mate-bot in the item", ["mate-bot"]),
        ("1. item\n    @mate-bot", ["mate-bot"]),
        ("- item\n\nout of the list\n\n    @mate-bot code", []),
        ("   @mate-bot three spaces", ["mate-bot"]),
        # HTML comments and elements
        ("<!-- @mate-bot -->", []),
        ("<!--\n@mate-bot\n\n-->\n@m", ["m"]),
        ("<!-- unclosed @mate-bot", []),
        ("<code>@mate-bot</code> @m", ["m"]),
        ("<CODE class='x'>@mate-bot</CODE>", []),
        ("<pre>\n@mate-bot\n</pre>", []),
        ("<pre>@mate-bot", []),
        ("<p>@mate-bot</p>", ["mate-bot"]),
        ("`<code>` @mate-bot", ["mate-bot"]),
        # escapes
        ("\\@mate-bot", []),
        ("not me \\@mate-bot, but @m", ["m"]),
        ("\\\\@mate-bot", ["mate-bot"]),  # an escaped backslash, then a mention
        # nothing
        ("", []),
        ("@", []),
        ("@ mate-bot", []),
    ],
)
def test_mentioned_usernames_table(text: str, expected: list[str]) -> None:
    assert mentioned_usernames(text, BOTS) == expected


def test_candidates_order_decides_result_order() -> None:
    text = "@mate-bot @m"
    assert mentioned_usernames(text, ["m", "mate-bot"]) == ["m", "mate-bot"]
    assert mentioned_usernames(text, ["mate-bot", "m", "mate-bot"]) == ["mate-bot", "m"]


def test_empty_candidates_and_empty_username_never_match() -> None:
    assert mentioned_usernames("@mate-bot", []) == []
    assert mentioned_usernames("@. @ @", ["", "mate-bot"]) == []


def test_visible_text_keeps_prose_and_drops_code() -> None:
    text = "keep this\n> not this\n```\nnor this\n```\nand `not` this"
    shown = visible_text(text)
    assert "keep this" in shown
    assert "and" in shown and "this" in shown
    assert "not this" not in shown
    assert "nor this" not in shown
    assert "`" not in shown


# --- properties -------------------------------------------------------------------------------

usernames = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,15}[A-Za-z0-9_\-]", fullmatch=True)

# Text that can open no code span, fence, quote, HTML comment or element, escape or indented
# code block, and holds no other mention.
plain = st.text(st.characters(codec="utf-8", exclude_characters="`~>@<\\"), max_size=40).map(
    lambda text: "\n".join(line.lstrip(" \t") for line in re.split(r"\r\n|\r|\n", text))
)
separators = st.sampled_from(
    [" ", "\n", "\t", "(", "[", "{", ",", ":", ";", "!", "?", '"', "'", "*", "<", "=", "@", "#"]
)
endings = st.sampled_from(["", ".", ",", "...", "!", "?", ")", ":", ";", "'s", " ", "\n", "/"])
tails = st.one_of(st.just(""), st.builds(lambda s: " " + s, plain))


@given(
    name=usernames, prefix=plain, sep=separators, end=endings, tail=tails, at_start=st.booleans()
)
@example(name="mate-bot", prefix="", sep=" ", end=".", tail="", at_start=True)
@example(name="00", prefix="", sep="\t", end="", tail="", at_start=False)
def test_mention_after_separator_before_punctuation_counts(
    name: str, prefix: str, sep: str, end: str, tail: str, at_start: bool
) -> None:
    if sep == "\t" and not prefix.rsplit("\n", 1)[-1]:
        prefix += "x"  # a line opened by a tab is indented code, where no mention counts
    head = "" if at_start else prefix + sep
    text = f"{head}@{name}{end}{tail}"
    assert mentioned_usernames(text, [name]) == [name]


@given(name=usernames, prefix=plain, suffix=plain, backticks=st.integers(1, 4))
def test_mention_in_inline_code_never_counts(
    name: str, prefix: str, suffix: str, backticks: int
) -> None:
    fence = "`" * backticks
    text = f"{prefix}{fence}see @{name} here{fence}{suffix}"
    assert mentioned_usernames(text, [name]) == []


@given(
    name=usernames,
    before=plain,
    body_before=plain,
    body_after=plain,
    after=plain,
    fence=st.sampled_from(["```", "~~~", "````", "~~~~~"]),
    info=st.sampled_from(["", "python", " yaml"]),
    closed=st.booleans(),
)
def test_mention_in_fenced_block_never_counts(
    name: str,
    before: str,
    body_before: str,
    body_after: str,
    after: str,
    fence: str,
    info: str,
    closed: bool,
) -> None:
    closing = f"\n{fence}\n{after}" if closed else ""
    text = f"{before}\n{fence}{info}\n{body_before} @{name} {body_after}{closing}"
    assert mentioned_usernames(text, [name]) == []


@given(name=usernames, before=plain, after=plain, indent=st.sampled_from(["", " ", "   ", "\t"]))
def test_mention_on_quoted_line_never_counts(
    name: str, before: str, after: str, indent: str
) -> None:
    quoted = f"{indent}> {before.replace(chr(10), ' ').replace(chr(13), ' ')} @{name}"
    text = f"{after}\n{quoted}\n{after}"
    assert mentioned_usernames(text, [name]) == []


@given(name=usernames.filter(lambda n: n.swapcase() != n))
def test_matching_is_case_sensitive(name: str) -> None:
    other = name.swapcase()
    assert mentioned_usernames(f"@{other} hi", [name]) == []
    assert mentioned_usernames(f"@{name} hi", [other]) == []
    assert mentioned_usernames(f"@{name} hi", [other, name]) == [name]


@given(text=st.text(), candidates=st.lists(st.text(max_size=12), max_size=6))
def test_only_candidates_are_returned_once_in_order(text: str, candidates: list[str]) -> None:
    found = mentioned_usernames(text, candidates)
    assert set(found) <= set(candidates)
    assert len(found) == len(set(found))
    assert found == [c for c in dict.fromkeys(candidates) if c in found]


@given(text=st.text(alphabet=st.sampled_from("@`~> \n\r\t.-_/abAB1<!\\"), max_size=200))
def test_markdown_garbage_never_raises(text: str) -> None:
    found = mentioned_usernames(text, ["ab", "a.b", "A-1", "b_"])
    assert set(found) <= {"ab", "a.b", "A-1", "b_"}
    assert isinstance(visible_text(text), str)


@given(text=st.text(), name=usernames, others=st.lists(usernames, max_size=3))
def test_surrounding_quoted_lines_change_nothing(text: str, name: str, others: list[str]) -> None:
    candidates = [name, *others]
    quoted = f"{text}\n> @{name} wrote this\n"
    assert mentioned_usernames(f"> @{name}\n{quoted}", candidates) == mentioned_usernames(
        text, candidates
    )


@given(name=usernames, before=plain, after=plain, closed=st.booleans())
def test_mention_in_html_comment_never_counts(
    name: str, before: str, after: str, closed: bool
) -> None:
    closing = f" -->{after}" if closed else ""
    assert mentioned_usernames(f"{before}<!-- {after} @{name} {closing}", [name]) == []


@given(name=usernames, before=plain, tag=st.sampled_from(["code", "pre", "Code", "PRE"]))
def test_mention_in_code_or_pre_element_never_counts(name: str, before: str, tag: str) -> None:
    text = f"{before}<{tag}>\n@{name}\n</{tag}>"
    assert mentioned_usernames(text, [name]) == []


@given(name=usernames, before=plain, backslashes=st.integers(0, 5))
def test_odd_backslashes_escape_the_at(name: str, before: str, backslashes: int) -> None:
    head = f"{before} " if before else ""
    text = head + "\\" * backslashes + f"@{name}"
    expected = [] if backslashes % 2 else [name]
    assert mentioned_usernames(text, [name]) == expected


@given(name=usernames, before=plain, inside=plain, after=plain)
def test_mention_in_a_multiline_quote_never_counts(
    name: str, before: str, inside: str, after: str
) -> None:
    text = f"{before}\n>>>\n{inside}\n@{name} {inside}\n>>>\n{after}"
    assert mentioned_usernames(text, [name]) == []


@given(name=usernames, before=plain, indent=st.sampled_from(["    ", "\t", "  \t", "      "]))
def test_mention_in_an_indented_block_after_a_blank_line_never_counts(
    name: str, before: str, indent: str
) -> None:
    # "plain text" after a blank line ends any list `before` may have opened (in a list item an
    # indented line is the item's content, not code).
    text = f"{before}\n\nplain text\n\n{indent}see @{name}\n"
    assert mentioned_usernames(text, [name]) == []
