"""Host patterns of ``policies.egress`` (SPEC §4.9, §12): what may be written, and what matches.

A pattern is an ASCII host name (``pypi.org``) or one leading wildcard label followed by at
least two labels (``*.npmjs.org``). It is the one place that says what a pattern means, so the
egress proxy that will enforce the list matches hosts with :func:`host_matches` and nothing else.

Rules (each refusal says what to write instead):
- letters, digits and hyphens only; labels 1-63 characters, not starting or ending with a
  hyphen; hyphens in the third and fourth positions only in ``xn--`` labels, which must be
  valid punycode (IDNA's A-labels); at most 253 characters; at least two labels; the last label
  is not all digits.
- Upper case is accepted and normalised to lower case: DNS names are case-insensitive, so
  ``PyPI.org`` can only mean ``pypi.org``.
- Refused: schemes, user information, ports, paths, IP literals, a trailing dot, non-ASCII
  (write the punycode form), a bare ``*``, a ``*`` anywhere but as the whole first label, and a
  wildcard with fewer than two labels after it (``*.com``). Without a public-suffix list a
  wildcard over a two-label public suffix (``*.co.uk``) cannot be told apart from
  ``*.npmjs.org`` and is accepted.

Matching: ``pypi.org`` matches that host only; ``*.npmjs.org`` matches every name below
``npmjs.org`` at any depth (``registry.npmjs.org``, ``a.b.npmjs.org``) but not ``npmjs.org``.
"""

from __future__ import annotations

import ipaddress
import re

MAX_NAME = 253
MAX_LABEL = 63
WILDCARD = "*."
EXAMPLE = "such as pypi.org or '*.npmjs.org'"
_LABEL_CHARS = re.compile(r"[a-z0-9-]+\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class PatternError(ValueError):
    """A pattern that is not allowed; the message says why and what to write instead."""


def parse_pattern(text: str) -> str:
    """The normalised (lower-case) pattern, or :class:`PatternError` explaining the refusal."""
    if not text.strip():
        raise PatternError(f"expected a host pattern {EXAMPLE}, got an empty string")
    if any(c.isspace() for c in text):
        raise PatternError(f"{text!r} contains white space; write the host name alone, {EXAMPLE}")
    _refuse_url_parts(text)
    if not text.isascii():
        raise PatternError(
            f"{text!r} is not ASCII; write the name in its punycode form "
            "(xn--..., as a browser shows it), such as xn--bcher-kva.example"
        )
    name = text.lower()
    if name == "*":
        raise PatternError(f"a bare * would allow every host; list the hosts jobs need, {EXAMPLE}")
    wildcard = name.startswith(WILDCARD)
    base = name[len(WILDCARD) :] if wildcard else name
    if "*" in base:
        raise PatternError(
            f"{text!r}: a wildcard may only be the whole first label, such as '*.npmjs.org'"
        )
    _check_name(text, base, wildcard)
    return name


def host_matches(pattern: str, host: str) -> bool:
    """Whether ``host`` (any case, one trailing dot allowed) is allowed by a parsed pattern.

    A host that is not itself a valid host name (a wildcard, an address, a port) never matches.
    """
    name = host.lower().removesuffix(".")
    if "*" in name:
        return False
    try:
        parse_pattern(name)
    except PatternError:
        return False
    if pattern.startswith(WILDCARD):
        return name.endswith(pattern[1:]) and len(name) > len(pattern) - 1
    return name == pattern


def _refuse_url_parts(text: str) -> None:
    """Schemes, user information, paths, IP literals and ports: a pattern is a bare name."""
    scheme = _SCHEME.match(text)
    if scheme:
        host = _without_port(text[scheme.end() :].split("/", 1)[0].rsplit("@", 1)[-1])
        try:
            parse_pattern(host)
        except PatternError as exc:
            raise PatternError(f"{text!r} is a URL and its host is refused too: {exc}") from None
        raise PatternError(f"{text!r} is a URL; write the host name alone: {host}")
    if "/" in text:
        raise PatternError(
            f"{text!r} has a path; the proxy allows whole hosts, so write {text.split('/', 1)[0]}"
        )
    if "@" in text:
        raise PatternError(f"{text!r} has user information; write {text.rsplit('@', 1)[-1]}")
    if _is_ip(_without_port(text)):  # also [::1], [::1]:443 and 10.0.0.1:80
        raise PatternError(
            f"{text!r} is an IP address; egress lists host names only (the proxy refuses "
            f"addresses), {EXAMPLE}"
        )
    if ":" in text:
        raise PatternError(
            f"{text!r} has a port; write {_without_port(text)} (the proxy allows port 443 "
            "through CONNECT and port 80 for plain HTTP)"
        )


def _without_port(text: str) -> str:
    if text.startswith("[") and "]" in text:
        return text[1 : text.index("]")]
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _check_name(text: str, name: str, wildcard: bool) -> None:
    """The label rules for ``name`` (the part after ``*.`` for a wildcard)."""
    if name.endswith("."):
        raise PatternError(f"{text!r} ends with a dot; write {text.rstrip('.')}")
    if name.startswith(".") and not name.startswith("..") and not wildcard:
        raise PatternError(
            f"{text!r} starts with a dot; write *{text} for the hosts below {text[1:]}, "
            f"or {text[1:]} for that host"
        )
    labels = name.split(".")
    if "" in labels:
        raise PatternError(f"{text!r} has an empty label (two dots in a row); remove one")
    for label in labels:
        _check_label(text, label)
    if len(text) > MAX_NAME:
        raise PatternError(
            f"{text[:40]!r}... is {len(text)} characters; a host name has at most {MAX_NAME}"
        )
    if labels[-1].isdigit():
        raise PatternError(
            f"{text!r} ends in the all-digit label {labels[-1]}; no top-level domain is all digits"
        )
    if wildcard and len(labels) < 2:
        raise PatternError(
            f"{text!r} would allow every host under .{name}; a wildcard needs at least two "
            "labels after it, such as '*.npmjs.org'"
        )
    if len(labels) < 2:
        raise PatternError(
            f"{text!r} is a single label, not a public host name; write the full name, {EXAMPLE}"
        )


def _check_label(text: str, label: str) -> None:
    if len(label) > MAX_LABEL:
        raise PatternError(
            f"{text!r} has a label of {len(label)} characters; a label has at most {MAX_LABEL}"
        )
    if not _LABEL_CHARS.match(label):
        raise PatternError(
            f"{text!r}: the label {label!r} may contain only letters, digits and hyphens"
        )
    if label.startswith("-") or label.endswith("-"):
        raise PatternError(f"{text!r}: the label {label!r} may not start or end with a hyphen")
    if label[2:4] == "--":
        if not label.startswith("xn--"):
            raise PatternError(
                f"{text!r}: the label {label!r} has hyphens in its third and fourth places, "
                "which IDNA reserves for xn-- labels"
            )
        _check_punycode(text, label)


def _check_punycode(text: str, label: str) -> None:
    """An ``xn--`` label must decode (an ASCII-only decoding would end in a hyphen, refused)."""
    try:
        label[4:].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        raise PatternError(
            f"{text!r}: the label {label!r} is not valid punycode; copy the name as a browser "
            "shows it in ASCII"
        ) from None
