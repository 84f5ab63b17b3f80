"""configschema.loader on its two parsers: libyaml's C events (the fast path) and ruamel's
pure-Python ones (the fallback and the reference). Whatever the input, both must give the same
nodes, positions and problems; and the hostile-input limits must hold on the fast path too."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from configschema import libyaml, loader
from configschema.loader import MAX_BYTES, MAX_NODES, Loaded, load
from configschema.nodes import Map, Node, Scalar, Seq
from tests.configschema.helpers import FIXTURES, TENANT

pytestmark = pytest.mark.skipif(not libyaml.AVAILABLE, reason="PyYAML without libyaml here")

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _tree(node: Node | None) -> Any:
    """A comparable picture of a node tree: positions, tags, values, and which nodes are shared."""
    seen: dict[int, int] = {}

    def walk(n: Node | None) -> Any:
        if n is None:
            return None
        if id(n) in seen:
            return ("alias of", seen[id(n)])
        seen[id(n)] = len(seen)
        if isinstance(n, Scalar):
            value = "NaN" if isinstance(n.value, float) and math.isnan(n.value) else n.value
            return ("scalar", n.line, n.column, n.tag, type(n.value).__name__, value)
        if isinstance(n, Seq):
            return ("seq", n.line, n.column, [walk(item) for item in n.items])
        assert isinstance(n, Map)
        return ("map", n.line, n.column, [(walk(k), walk(v)) for k, v in n.entries])

    return walk(node)


def _picture(loaded: Loaded) -> Any:
    return loaded.refused, loaded.problems, _tree(loaded.root)


class _Spy:
    """Records whether libyaml settled each document or handed it to ruamel."""

    def __init__(self) -> None:
        self.fast = 0
        self.handed_over = 0

    def feed(self, text: str, builder: libyaml.Builder) -> None:
        try:
            _real_feed(text, builder)
        except libyaml.Unsure:
            self.handed_over += 1
            raise
        except BaseException:  # the builder refused the document: settled by libyaml too
            self.fast += 1
            raise
        self.fast += 1


_real_feed = libyaml.feed


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    spy = _Spy()
    monkeypatch.setattr(libyaml, "feed", spy.feed)
    return spy


def _both(text: str | bytes) -> tuple[Loaded, Loaded]:
    """The document loaded on libyaml, then on ruamel alone."""
    fast = load(text)
    loader.USE_LIBYAML = False
    try:
        reference = load(text)
    finally:
        loader.USE_LIBYAML = True
    return fast, reference


def _assert_same(text: str | bytes) -> Loaded:
    fast, reference = _both(text)
    assert _picture(fast) == _picture(reference)
    return fast


def _realistic() -> list[str]:
    sys.path.insert(0, str(BENCH))
    try:
        import config_resolve  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(BENCH))
    return [config_resolve.realistic_tenant(), config_resolve.realistic_repo()]


# Documents libyaml settles alone, with ruamel's exact nodes, positions and problems.
FAST = {
    "tenant": TENANT,
    "nested": "a: 1\nb:\n  - x\n  - {c: d, e: [f, 'g', \"h\"]}\n  - - deep\n    - er\n",
    "empty values": "a:\nb: # comment\n\nc:\n  d:\n  e:\n-f: 1\n",
    "empty at the end": "a:\n  b:",
    "empty, trailing spaces": "a:   ",
    "empty in a list item": "items:\n  - on: x\n    agent:\n  - on: y\n",
    "empty flow values": "{a: , b: 1, c: }\n",
    "empty flow keys": "{a, b: 1}\n",
    "explicit empty document": "---\n",
    "empty document": "---",
    "no final newline": "a: [1, 2]\nb: c",
    "crlf": "a: 1\r\nb:\r\n  - x\r\n  -\r\nc: |\r\n  t\r\n",
    "comments": "# top\na: 1 # one\n# between\nb: [x, # in a list\n  y]\n",
    "anchors": "base: &b {x: 1}\nother: *b\nlist: [&i 1, *i]\n",
    "tag then anchor": "a: !!str &x 1\nb: *x\nc: !!map &m\n  k: v\n",
    "anchor then tag": "a: &x !!str 1\nb: *x\n",
    "tag and anchor on two lines": "a: !!str # why\n  &x 1\nb: *x\n",
    "duplicate anchors": "a: &x 1\nb: &x 2\nc: *x\n",
    "custom tags": "a: !foo 1\nb: !!binary aGk=\nc: !!python/object:os.system x\n",
    "core tags": "a: !!int 3\nb: !!float 1\nc: !!bool true\nd: !!null ''\ne: ! 12\n",
    "block scalars": "a: |\n  line\n   more\nb: >-\n  folded\n  text\n\nc: |+\n  keep\n\n",
    "quoted": "a: 'it''s'\nb: \"\\x41\\u263A\\t\\\\\"\nc: \"multi\n  line\"\n",
    "multi-line plain": "a: plain\n  continued\n\n  after blank\nb: 2\n",
    "leading bom": "\ufeffa: 1\nb: [x]\n",
    "unicode": "é: 😀\nb: !x ü\n",
    "duplicate keys": "agents:\n  r: {a: 1}\n  r: {a: 2}\n",
    "complex key": "? [a]\n: 1\n",
    "explicit keys": "? a\n: 1\n? b\n",
    "document end": "a: 1\n...\n",
    "json": '{"a": [1, 2.5, true, null], "b": {"c": "d"}}',
    "alias below the limit": "l0: &l0 [x, x, x]\nl1: [*l0, *l0, *l0]\n",
}

# Documents libyaml hands over to ruamel, because the parsers could disagree on them.
HANDED_OVER = {
    "syntax error": "a: [1\nb: 2\n",
    "tab after a value": "a:\t1\n",
    "tab at the end": "a: 1\t\n",
    "tab in a block scalar": "a: |\n  x\ty\n",
    "yaml 1.1 directive": "%YAML 1.1\n---\na: yes\n",
    "yaml 1.3 directive": "%YAML 1.3\n---\na: 1\n",
    "tag directive": "%TAG !e! tag:example.com,2000:\n---\na: !e!foo 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "documents after an end marker": "a: 1\n...\n#\n...\n",
    "bare document after an end marker": "a: 1\n...\nb: 2\n",
    "line separator": "a:\u2028  b\n",
    "next line": "a: x\x85  y\n",
    "inner bom": "a: x\ufeffy\n",
    "lone surrogate": "a: \ud800\n",
    "nul": "a: \x00\n",
    "alias name with a colon": "a: &x 1\nb: {*x: 1}\n",
    "anchor name with a dot": "a: &a.b 1\n",
    "tag glued to a comma": "[!!str,]\n",
    "tag handle only": "!!! 1\n",
    "colon before a flow node": "[&b :x]\n",
    "compact json": '{"a":1}\n',
    "block header with a comment": "a: |# c\n  x\n",
    "block scalar, spaces-only first line": "a: |-\n  \n    x\n",
    "top-level block scalar": "--- |\nx\n...\n",
    "empty value before an explicit key": "a:\n? b\n: c\n",
}


@pytest.mark.parametrize("text", FAST.values(), ids=FAST.keys())
def test_documents_libyaml_settles_alone(text: str, spy: _Spy) -> None:
    _assert_same(text)
    assert (spy.fast, spy.handed_over) == (1, 0)


@pytest.mark.parametrize("text", HANDED_OVER.values(), ids=HANDED_OVER.keys())
def test_documents_handed_over_to_ruamel(text: str, spy: _Spy) -> None:
    _assert_same(text)
    assert (spy.fast, spy.handed_over) == (0, 1)


def test_bytes_take_the_fast_path_with_or_without_a_bom(spy: _Spy) -> None:
    for data in (TENANT.encode(), b"\xef\xbb\xbf" + TENANT.encode(), "é: [1]\n".encode()):
        assert not _assert_same(data).problems
    assert (spy.fast, spy.handed_over) == (3, 0)


def test_realistic_configs_and_fixtures_take_the_fast_path(spy: _Spy) -> None:
    documents = _realistic() + [p.read_text() for p in sorted(FIXTURES.glob("*.yml"))]
    for text in documents:
        loaded = _assert_same(text)
        assert isinstance(loaded.root, Map)
    assert (spy.fast, spy.handed_over) == (len(documents), 0)


@pytest.mark.parametrize(
    ("text", "tag", "value"),
    [
        ("yes", "str", "yes"),  # YAML 1.1 (libyaml's own resolver) would read booleans here
        ("no", "str", "no"),
        ("on", "str", "on"),
        ("off", "str", "off"),
        ("y", "str", "y"),
        ("Yes", "str", "Yes"),
        ("017", "int", 17),  # YAML 1.1: octal 15
        ("0o17", "int", 15),  # YAML 1.1: a string
        ("0x1F", "int", 31),
        ("0b101", "str", "0b101"),  # YAML 1.1: binary 5
        ("1_000", "str", "1_000"),  # YAML 1.1: 1000
        ("1:30", "str", "1:30"),  # YAML 1.1: sexagesimal 90
        ("190:20:30.15", "str", "190:20:30.15"),
        (".inf", "float", math.inf),
        ("-.Inf", "float", -math.inf),
        (".NaN", "float", "NaN"),
        ("1e3", "float", 1000.0),  # YAML 1.1 wants a dot: a string there
        ("1.", "float", 1.0),
        (".5", "float", 0.5),
        ("+1", "int", 1),
        ("~", "null", None),
        ("Null", "null", None),
        ("", "null", None),
        ("TRUE", "bool", True),
        ("2001-12-14", "str", "2001-12-14"),  # YAML 1.1: a timestamp
        ("=", "str", "="),  # YAML 1.1: the value key
        ("<<", "str", "<<"),  # YAML 1.1: the merge key
        ("'yes'", "str", "yes"),
        ("!!str 017", "str", "017"),
        ("!!float 017", "float", 17.0),
    ],
)
def test_scalars_resolve_the_same_on_both_parsers(text: str, tag: str, value: object) -> None:
    loaded = _assert_same(f"k: {text}\n")
    assert isinstance(loaded.root, Map)
    node = loaded.root.get("k")
    assert isinstance(node, Scalar)
    shown = "NaN" if isinstance(node.value, float) and math.isnan(node.value) else node.value
    assert (node.tag, shown) == (tag, value)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a:\nb: 1\n", 2, 1),  # ruamel: where the next key starts, not after the colon
        ("a:", 1, 3),  # the end of a text without a final line break
        ("a: # c\n", 2, 1),
        ("a:\n  b:\nc: 1\n", 3, 1),
        ("{a: , b: 1}", 1, 4),  # just after the colon
        ("[a: ]", 1, 4),
        ("---", 1, 4),
        ("a: !!str &x 1\n", 1, 10),  # at the anchor
        ("a: &x !!str 1\n", 1, 4),
    ],
)
def test_positions_follow_ruamel(text: str, line: int, column: int) -> None:
    loaded = _assert_same(text)
    root = loaded.root
    node = root.entries[0][1] if isinstance(root, Map) else root
    if isinstance(node, Seq):
        node = node.items[0]
    if isinstance(node, Map):
        node = node.entries[0][1]
    assert node is not None and (node.line, node.column) == (line, column)


def test_repeated_values_are_checked_each_time() -> None:
    # The loader remembers how it resolved a text it met before; not the errors.
    long = "1" * 101
    loaded = _assert_same(f"a: {long}\nb: {long}\nc: [{long}, '{long}']\n.nan: 1\n.nan: 2\n")
    assert [(p.line, p.column) for p in loaded.problems] == [(1, 4), (2, 4), (3, 5), (5, 1)]
    assert loaded.problems[0].message == "the number 11111111111111111111... is too long"
    assert loaded.problems[3].message.startswith("duplicate key nan")


def test_syntax_errors_read_as_before(spy: _Spy) -> None:
    for text in ("a: [1\nb: 2\n", "a: b: c\n", "- a\nb: c\n", "a: 'x\n", "{a: 1\n", "a:\n\t- x\n"):
        fast = _assert_same(text)
        assert fast.refused and fast.problems[0].message.startswith("invalid YAML: ")
    assert spy.fast == 0


def test_an_unsupported_yaml_version_is_refused_without_raising() -> None:
    # ruamel asserts on it (an AssertionError, not a YAMLError); the loader must not raise.
    loaded = _assert_same("%YAML 1.3\n---\na: 1\n")
    assert loaded.refused
    assert loaded.problems[0].message == (
        "invalid YAML: version minor part can only be 2 or 1, got (1, 3)"
    )


YAMLISH = st.text(alphabet=st.sampled_from(list("ab: -[]{},&*!|>'\"#\n?%@`\t1~.\r")), max_size=120)
PIECES = st.lists(
    st.sampled_from(
        [
            "a", "b", ": ", ":", "\n", "\n  ", "\n    ", "- ", "? ", "# c", " ", "[", "]", "{",
            "}", ", ", "&x ", "*x", "!!str ", "!x ", "'q'", '"q"', "|\n  t", ">-\n  t", "~",
            "yes", "017", "1:30", "...", "---", "\r\n",
        ]
    ),
    max_size=30,
).map("".join)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(YAMLISH, PIECES, st.text(max_size=60)))
def test_both_parsers_agree_on_any_text(text: str) -> None:
    _assert_same(text)


# Hostile input on the fast path: the limits hold, and libyaml is not read further than needed.


class _CountingParser:
    """libyaml's parser, counting the events read."""

    made: list[_CountingParser] = []

    def __init__(self, text: str) -> None:
        self.parser = _RealParser(text)
        self.events = 0
        _CountingParser.made.append(self)

    def get_event(self) -> Any:
        self.events += 1
        return self.parser.get_event()

    def dispose(self) -> None:
        self.parser.dispose()


_RealParser: Any = libyaml._CParser if libyaml.AVAILABLE else None


@pytest.fixture
def events_read(monkeypatch: pytest.MonkeyPatch) -> list[_CountingParser]:
    _CountingParser.made = []
    monkeypatch.setattr(libyaml, "_CParser", _CountingParser)
    return _CountingParser.made


def _alias_bomb(levels: int = 9) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_alias_bomb_stops_early_on_the_fast_path(
    spy: _Spy, events_read: list[_CountingParser]
) -> None:
    loaded = _assert_same(_alias_bomb())
    assert loaded.refused and loaded.root is None
    assert loaded.problems[0].message.startswith("the document expands to more than 10,000")
    assert (loaded.problems[0].line, loaded.problems[0].column) == (4, 45)
    assert spy.fast == 1 and spy.handed_over == 0
    # 10^9 nodes once expanded; libyaml read four lines and a little beyond.
    assert events_read[0].events < 120


def test_node_limit_holds_on_the_fast_path(spy: _Spy) -> None:
    loaded = _assert_same("a: [" + ", ".join(["x"] * (MAX_NODES + 1)) + "]\n")
    assert loaded.refused and spy.handed_over == 0


@pytest.mark.parametrize(
    "text",
    [
        "- " * 100_000 + "x\n",
        "a:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 600)),
        "x:\n" + "".join(" " * i + "- \n" for i in range(1, 300)),
    ],
    ids=["block-seq-one-line", "block-map", "block-seq-lines"],
)
def test_deep_block_nesting_is_refused_on_the_fast_path(
    text: str, spy: _Spy, events_read: list[_CountingParser]
) -> None:
    loaded = _assert_same(text)
    assert loaded.refused
    assert loaded.problems[0].message == "the document nests deeper than 64 levels; refused"
    assert spy.handed_over == 0
    # Refused at depth 65; after that, only ruamel's look-ahead (1,024 characters) is read.
    assert events_read[0].events < 1_200


@pytest.mark.parametrize(
    "text",
    ["[" * 10_000 + "]" * 10_000, "{a: " * 10_000 + "1" + "}" * 10_000, "&a [" * 5_000],
    ids=["flow-seq", "flow-map", "anchored"],
)
def test_deep_flow_nesting_is_refused_before_parsing(
    text: str, events_read: list[_CountingParser]
) -> None:
    loaded = _assert_same(text)
    assert loaded.problems[0].message == "the document nests deeper than 64 levels; refused"
    assert events_read == []


def test_huge_input_never_reaches_libyaml(events_read: list[_CountingParser]) -> None:
    for text in ("x: [" + "y" * (300 * 1024), "a: " + "b" * MAX_BYTES):
        loaded = _assert_same(text)
        assert loaded.problems[0].message.endswith("refused before parsing")
    assert events_read == []


def test_an_error_just_after_a_refusal_is_still_ruamels(spy: _Spy) -> None:
    # The ``[`` might start a key, so ruamel reads the line before handing out any event, and
    # meets the tag it cannot read (``!!str,`` then ``}``) before the undefined alias. libyaml
    # hands out the alias first; the loader refuses, reads on, finds the tag and hands over.
    fast = _assert_same("[*nowhere, {a: !!str,}]\n")
    assert [(p.line, p.column) for p in fast.problems] == [(1, 22)]
    assert fast.problems[0].message == (
        "invalid YAML: while scanning a tag; expected ' ', but found '}'"
    )
    assert spy.handed_over == 1


def _run(code: str) -> str:
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize(
    "setup",
    [
        "sys.modules['yaml'] = None",  # PyYAML missing: importing it fails
        "import yaml; yaml.__with_libyaml__ = False",  # PyYAML built without libyaml
    ],
    ids=["no-pyyaml", "no-libyaml"],
)
def test_without_libyaml_the_loader_uses_ruamel(setup: str) -> None:
    code = (
        f"import sys; {setup}\n"
        "from configschema import libyaml, loader\n"
        "result = loader.load('a: [1, yes]\\nb: !x 1\\n')\n"
        "print(libyaml.AVAILABLE, loader.USE_LIBYAML, result.root.get('a').items[1].value,\n"
        "      [(p.line, p.column) for p in result.problems])\n"
    )
    assert _run(code) == "False False yes [(2, 4)]"
