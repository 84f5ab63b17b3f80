"""Scalar resolution by the YAML 1.2 core schema, and the few explicit tags we accept.

We resolve scalars ourselves rather than through a ruamel constructor so that the rules are the
YAML 1.2 ones whatever the document says (``on``, ``yes`` and ``1:30`` are strings; YAML 1.1
would make them a boolean and a number) and so that no constructor can ever build an object.
"""

from __future__ import annotations

import math
import re

from configschema.nodes import ScalarValue

CORE_PREFIX = "tag:yaml.org,2002:"
# Explicit tags that only restate what plain YAML already is; everything else is refused.
CORE_TAGS = frozenset({"str", "int", "float", "bool", "null", "map", "seq"})

_NULL = re.compile(r"(?:~|null|Null|NULL|)\Z")
_TRUE = re.compile(r"(?:true|True|TRUE)\Z")
_FALSE = re.compile(r"(?:false|False|FALSE)\Z")
_INT10 = re.compile(r"[-+]?[0-9]+\Z")
_INT8 = re.compile(r"0o[0-7]+\Z")
_INT16 = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"([-+]?)\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")

# Python refuses to convert integers longer than this (sys.int_info); no config needs them.
MAX_INT_DIGITS = 100


class ScalarError(ValueError):
    """A scalar that cannot be resolved (an oversized number, a value contradicting its tag)."""


def resolve_plain(text: str) -> tuple[str, ScalarValue]:
    """Resolve an untagged plain scalar to ``(tag, value)`` by the YAML 1.2 core schema."""
    if _NULL.match(text):
        return "null", None
    if _TRUE.match(text):
        return "bool", True
    if _FALSE.match(text):
        return "bool", False
    if _INT10.match(text) or _INT8.match(text) or _INT16.match(text):
        return "int", _to_int(text)
    if _FLOAT.match(text):
        return "float", float(text)
    inf = _INF.match(text)
    if inf:
        return "float", -math.inf if inf.group(1) == "-" else math.inf
    if _NAN.match(text):
        return "float", math.nan
    return "str", text


def _to_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise ScalarError(f"the number {text[:20]}... is too long")
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def short_tag(tag: str) -> str:
    """``tag:yaml.org,2002:binary`` → ``!!binary``; local tags stay as written."""
    return "!!" + tag[len(CORE_PREFIX) :] if tag.startswith(CORE_PREFIX) else tag


def core_tag(tag: str | None) -> str | None:
    """The core schema name of an explicit tag (``str``...), ``""`` for ``!``, else None."""
    if tag is None or tag == "!":
        return ""
    if tag.startswith(CORE_PREFIX) and tag[len(CORE_PREFIX) :] in CORE_TAGS:
        return tag[len(CORE_PREFIX) :]
    return None


def resolve_scalar(text: str, plain: bool, tag: str | None) -> tuple[str, ScalarValue]:
    """Resolve one scalar event. ``tag`` must be a core tag (see :func:`core_tag`) or None.

    Quoted and block scalars, and the non-specific tag ``!``, are strings. ``!!int`` and friends
    are honoured only when the text really is such a value.
    """
    wanted = core_tag(tag)
    if wanted == "str" or (wanted == "" and tag == "!"):
        return "str", text
    if not wanted:
        return resolve_plain(text) if plain else ("str", text)
    if wanted in ("map", "seq"):
        raise ScalarError(f"the tag {short_tag(tag or '')} cannot be used on a single value")
    found, value = resolve_plain(text)
    if found == wanted or (wanted == "float" and found == "int"):
        return wanted, float(value) if wanted == "float" else value  # type: ignore[arg-type]
    raise ScalarError(f"{text!r} is not a valid {short_tag(tag or '')} value")
