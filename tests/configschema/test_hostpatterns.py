"""configschema.hostpatterns: the host patterns of policies.egress and what they match."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from configschema.hostpatterns import PatternError, host_matches, parse_pattern

EXAMPLE = "such as pypi.org or '*.npmjs.org'"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("pypi.org", "pypi.org"),
        ("*.npmjs.org", "*.npmjs.org"),
        ("PyPI.Org", "pypi.org"),  # DNS is case-insensitive: normalised, not refused
        ("*.NPMJS.org", "*.npmjs.org"),
        ("files.pythonhosted.org", "files.pythonhosted.org"),
        ("a-b.c0.io", "a-b.c0.io"),
        ("0.example.com", "0.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("*.co.uk", "*.co.uk"),  # a two-label public suffix: no public-suffix list to know
        ("a" * 63 + ".example", "a" * 63 + ".example"),
        (".".join(["a" * 63] * 3 + ["b" * 61]), ".".join(["a" * 63] * 3 + ["b" * 61])),
    ],
)
def test_accepted(text: str, pattern: str) -> None:
    assert parse_pattern(text) == pattern


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", f"expected a host pattern {EXAMPLE}, got an empty string"),
        (" pypi.org", f"' pypi.org' contains white space; write the host name alone, {EXAMPLE}"),
        ("https://pypi.org/simple", "'https://pypi.org/simple' is a URL; write the host name alone: pypi.org"),
        ("http://user@pypi.org:80", "'http://user@pypi.org:80' is a URL; write the host name alone: pypi.org"),
        (
            "http://[::1]/",
            "'http://[::1]/' is a URL and its host is refused too: '::1' is an IP address; "
            f"egress lists host names only (the proxy refuses addresses), {EXAMPLE}",
        ),
        ("pypi.org/simple", "'pypi.org/simple' has a path; the proxy allows whole hosts, so write pypi.org"),
        ("u@pypi.org", "'u@pypi.org' has user information; write pypi.org"),
        (
            "pypi.org:443",
            "'pypi.org:443' has a port; write pypi.org (the proxy allows port 443 through "
            "CONNECT and port 80 for plain HTTP)",
        ),
        ("10.0.0.1", f"'10.0.0.1' is an IP address; egress lists host names only (the proxy refuses addresses), {EXAMPLE}"),
        ("10.0.0.1:80", f"'10.0.0.1:80' is an IP address; egress lists host names only (the proxy refuses addresses), {EXAMPLE}"),
        ("::1", f"'::1' is an IP address; egress lists host names only (the proxy refuses addresses), {EXAMPLE}"),
        ("[2001:db8::1]:443", f"'[2001:db8::1]:443' is an IP address; egress lists host names only (the proxy refuses addresses), {EXAMPLE}"),
        ("1.2.3", "'1.2.3' ends in the all-digit label 3; no top-level domain is all digits"),
        ("*", f"a bare * would allow every host; list the hosts jobs need, {EXAMPLE}"),
        (
            "*.com",
            "'*.com' would allow every host under .com; a wildcard needs at least two labels "
            "after it, such as '*.npmjs.org'",
        ),
        ("a*.x.com", "'a*.x.com': a wildcard may only be the whole first label, such as '*.npmjs.org'"),
        ("*.*.x.com", "'*.*.x.com': a wildcard may only be the whole first label, such as '*.npmjs.org'"),
        ("foo.*.com", "'foo.*.com': a wildcard may only be the whole first label, such as '*.npmjs.org'"),
        ("**.x.com", "'**.x.com': a wildcard may only be the whole first label, such as '*.npmjs.org'"),
        ("pypi.org.", "'pypi.org.' ends with a dot; write pypi.org"),
        (
            ".npmjs.org",
            "'.npmjs.org' starts with a dot; write *.npmjs.org for the hosts below npmjs.org, "
            "or npmjs.org for that host",
        ),
        ("pypi..org", "'pypi..org' has an empty label (two dots in a row); remove one"),
        (
            "bücher.example",
            "'bücher.example' is not ASCII; write the name in its punycode form (xn--..., as a "
            "browser shows it), such as xn--bcher-kva.example",
        ),
        (
            "xn--zz.example",
            "'xn--zz.example': the label 'xn--zz' is not valid punycode; copy the name as a "
            "browser shows it in ASCII",
        ),
        (
            "xn--99999999999.example",  # overflows the decoder
            "'xn--99999999999.example': the label 'xn--99999999999' is not valid punycode; copy "
            "the name as a browser shows it in ASCII",
        ),
        (
            "ab--cd.example",
            "'ab--cd.example': the label 'ab--cd' has hyphens in its third and fourth places, "
            "which IDNA reserves for xn-- labels",
        ),
        ("-a.example", "'-a.example': the label '-a' may not start or end with a hyphen"),
        ("a-.example", "'a-.example': the label 'a-' may not start or end with a hyphen"),
        ("a_b.example", "'a_b.example': the label 'a_b' may contain only letters, digits and hyphens"),
        (
            "localhost",
            f"'localhost' is a single label, not a public host name; write the full name, {EXAMPLE}",
        ),
        (
            "a" * 64 + ".com",
            f"'{'a' * 64}.com' has a label of 64 characters; a label has at most 63",
        ),
        (
            ".".join(["a" * 63] * 4),
            f"'{'a' * 40}'... is 255 characters; a host name has at most 253",
        ),
    ],
)  # fmt: skip
def test_refused(text: str, message: str) -> None:
    with pytest.raises(PatternError) as caught:
        parse_pattern(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("pattern", "host", "allowed"),
    [
        ("pypi.org", "pypi.org", True),
        ("pypi.org", "PyPI.org", True),
        ("pypi.org", "pypi.org.", True),
        ("pypi.org", "files.pypi.org", False),
        ("pypi.org", "evilpypi.org", False),
        ("pypi.org", "pypi.org.evil.com", False),
        ("*.npmjs.org", "registry.npmjs.org", True),
        ("*.npmjs.org", "a.b.npmjs.org", True),
        ("*.npmjs.org", "npmjs.org", False),
        ("*.npmjs.org", "evilnpmjs.org", False),
        ("*.npmjs.org", ".npmjs.org", False),
        ("*.npmjs.org", "a..npmjs.org", False),
        ("*.npmjs.org", "*.npmjs.org", False),
        ("*.npmjs.org", "registry.npmjs.org:443", False),
        ("pypi.org", "", False),
    ],
)
def test_host_matches(pattern: str, host: str, allowed: bool) -> None:
    assert host_matches(pattern, host) is allowed


# --- properties -----------------------------------------------------------------------------

_INNER = string.ascii_letters + string.digits + "-"
_EDGE = string.ascii_letters + string.digits


@st.composite
def labels(draw) -> str:
    """A valid LDH label that is not an xn-- label (1-63 characters)."""
    edge = st.sampled_from(_EDGE)
    first = draw(edge)
    if draw(st.booleans()):
        return first
    label = first + draw(st.text(_INNER, max_size=20)) + draw(edge)
    if label[2:4] == "--":
        label = label[:2] + "x" + label[3:]
    return label


@st.composite
def hosts(draw) -> str:
    """A valid host name with at least two labels and an alphabetic last label."""
    body = draw(st.lists(labels(), min_size=1, max_size=4))
    top = draw(st.text(string.ascii_letters, min_size=2, max_size=6))
    return ".".join([*body, top])


@given(hosts())
def test_valid_hosts_are_accepted_lowercased_and_match_themselves(host: str) -> None:
    pattern = parse_pattern(host)
    assert pattern == host.lower()
    assert parse_pattern(pattern) == pattern
    assert host_matches(pattern, host) and host_matches(pattern, host.upper())
    assert not host_matches(pattern, "x." + host)


@given(hosts(), labels())
def test_a_wildcard_matches_names_below_but_not_the_name(host: str, label: str) -> None:
    pattern = parse_pattern("*." + host)
    assert host_matches(pattern, f"{label}.{host}")
    assert not host_matches(pattern, host)
    assert not host_matches(pattern, label + host)


@given(
    hosts(),
    st.sampled_from(["/x", ":x", ":443", "@x", " x", "://x", ".", "*", "_"]),
    st.sampled_from(["/", ":", "@", " ", "://", "..", "**", "*", "-", "_", "https://"]),
)
def test_url_parts_and_stray_characters_are_refused(host: str, suffix: str, prefix: str) -> None:
    with pytest.raises(PatternError):
        parse_pattern(host + suffix)
    with pytest.raises(PatternError):
        parse_pattern(prefix + host)


@given(st.text(max_size=80))
def test_any_text_is_accepted_as_a_clean_pattern_or_refused_with_a_message(text: str) -> None:
    try:
        pattern = parse_pattern(text)
    except PatternError as exc:
        assert str(exc)
        return
    assert pattern.isascii() and pattern == pattern.lower() and len(pattern) <= 253
    assert parse_pattern(pattern) == pattern
