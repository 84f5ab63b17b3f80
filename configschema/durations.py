"""Go duration strings (SPEC §4.10): ``30s``, ``5m``, ``1h30m``, ``1.5h``, ``0``; no sign."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction

# One or more "number, optional fraction, unit" terms, or a lone 0 (Go accepts "0" unitless).
# Both spellings of micro (U+00B5 MICRO SIGN and U+03BC GREEK SMALL LETTER MU) are Go's.
_TERM = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
DURATION_RE = re.compile(rf"(?:0|(?:{_TERM})+)\Z")
_TERM_RE = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")

_NANOS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
# Go's time.Duration is an int64 of nanoseconds (about 292 years); beyond that Go refuses too.
_MAX_NANOS = 2**63 - 1

EXPECTED = "expected a Go duration such as 30m"


def parse_duration(text: str) -> timedelta:
    """Parse a Go duration string; raise ValueError with a readable message when it is not one.

    Sub-microsecond parts are rounded to the nearest microsecond (timedelta's resolution).
    """
    # The length cap keeps absurd inputs away from big-number arithmetic.
    if not isinstance(text, str) or len(text) > 64 or not DURATION_RE.match(text):
        raise ValueError(f"{text!r} is not a Go duration such as 30s, 5m or 1h30m")
    nanos = Fraction(0)
    for number, unit in _TERM_RE.findall(text):
        nanos += Fraction(number) * _NANOS[unit]
    if nanos > _MAX_NANOS:
        raise ValueError(f"{text!r} is longer than a Go duration can be")
    return timedelta(microseconds=round(nanos / 1000))


def format_duration(value: timedelta) -> str:
    """The shortest Go-style spelling of a whole-second duration (``1h30m``, ``45s``, ``0``)."""
    total = int(value.total_seconds())
    if value != timedelta(seconds=total):
        return f"{value.total_seconds():g}s"
    if total == 0:
        return "0"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    parts.append(f"{seconds}s" if seconds else "")
    return "".join(parts)
