"""Finding `@username` mentions of registered bots in a comment (SPEC §5.2, Note Hook).

The rule is the SPEC's, made precise where GitLab is:

- Matching is exact and case-sensitive.
- The character before `@` must not be a letter, digit, `_`, `.`, `-` or `/` (letters and digits
  in the Unicode sense); the start of the text is fine. So `me@mate-bot` and `a/@mate-bot` are
  not mentions, `(@mate-bot)` and `@@mate-bot` are.
- After `@` the *whole* name token must equal the username. The token is the longest run of
  letters, digits, `_`, `-` and `.`, minus trailing dots: GitLab usernames may contain `.` but
  never end with one, and GitLab reads `@mate-bot.x` as the user `mate-bot.x`. Hence:
  `@mate-bot.` and `@mate-bot...` mention `mate-bot` (the dot is punctuation), `@mate-bot,`
  does too, while `@mate-bot.x`, `@mate-bot-2` and `@mate-bot_` do not; `@mate.bot` mentions
  `mate.bot` and not `mate`. Any other following character ends the name (`@mate-bot/x`,
  `@mate-bot's` and `@mate-bot!` mention `mate-bot`), as the SPEC's rule says.
- A mention counts only where GitLab would treat it as one. Not inside:
  - inline code spans (CommonMark: a run of n backticks opens a span closed by the next run of
    exactly n backticks in the same paragraph; an unmatched run is literal text);
  - fenced code blocks (``` or ~~~, closed by a fence of the same character at least as long;
    an unclosed fence runs to the end);
  - indented code blocks: lines indented by four spaces or a tab that do not continue a
    paragraph or a list item (CommonMark: indented code cannot interrupt a paragraph);
  - quoted lines (optional spaces or tabs, then `>`) and GitLab's multi-line `>>>` blocks (a
    line `>>>` up to the next line `>>>`; without a closing line it is just a quoted line);
  - HTML comments and `<code>`/`<pre>` elements (an unclosed one runs to the end);
  - an escaped `\\@` (but `\\\\@name`, an escaped backslash, is a mention).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .blocks import drop_block_lines

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BACKTICKS = re.compile(r"`+")
_HTML_HIDDEN = re.compile(
    r"<!--.*?(?:-->|\Z)|<(code|pre)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.IGNORECASE | re.DOTALL
)
_ESCAPED_BACKSLASH = re.compile(r"\\\\")
_MENTION = re.compile(r"(?<![\w.\-/\\])@([\w.\-]+)")


def mentioned_usernames(text: str, candidates: Sequence[str]) -> list[str]:
    """The candidates mentioned in `text`, in the order of `candidates`, each once.

    Only candidates are ever returned; code, quotes, HTML comments and escaped `@` are ignored
    (see the module docstring for the exact rule). Linear in the length of the text.
    """
    if not isinstance(text, str) or not candidates:
        return []
    tokens = {match.group(1).rstrip(".") for match in _MENTION.finditer(visible_text(text))}
    return [name for name in dict.fromkeys(candidates) if name and name in tokens]


def visible_text(text: str) -> str:
    """`text` with everything GitLab would not read a mention in blanked out: code blocks,
    quotes, inline code, HTML comments and `<code>`/`<pre>` elements, escaped backslashes.

    Removed lines become empty lines and removed spans a single space, so that what is left
    keeps its paragraph breaks and no two words are glued together.
    """
    lines = drop_block_lines(_LINE_BREAK.split(text))
    paragraphs = _BLANK_LINE.split("\n".join(lines))
    shown = "\n\n".join(_blank_code_spans(paragraph) for paragraph in paragraphs)
    shown = _HTML_HIDDEN.sub(" ", shown)
    return _ESCAPED_BACKSLASH.sub("  ", shown)


def _blank_code_spans(paragraph: str) -> str:
    """Replace each inline code span of a paragraph by one space (CommonMark pairing)."""
    runs = list(_BACKTICKS.finditer(paragraph))
    closer_of = _next_same_length(runs)
    pieces: list[str] = []
    position, index = 0, 0
    while index < len(runs):
        closer = closer_of[index]
        if closer is None:
            index += 1
            continue
        pieces.append(paragraph[position : runs[index].start()])
        pieces.append(" ")
        position, index = runs[closer].end(), closer + 1
    pieces.append(paragraph[position:])
    return "".join(pieces)


def _next_same_length(runs: list[re.Match[str]]) -> list[int | None]:
    """For each backtick run, the index of the next run of exactly the same length."""
    following: dict[int, int] = {}
    result: list[int | None] = [None] * len(runs)
    for index in range(len(runs) - 1, -1, -1):
        length = len(runs[index].group())
        result[index] = following.get(length)
        following[length] = index
    return result
