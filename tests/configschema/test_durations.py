"""configschema.durations: Go duration strings (SPEC §4.10)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from configschema import parse_duration
from configschema.durations import format_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        (".5m", timedelta(seconds=30)),
        ("1.m", timedelta(minutes=1)),
        ("250ms", timedelta(milliseconds=250)),
        ("3us", timedelta(microseconds=3)),
        ("3\u00b5s", timedelta(microseconds=3)),
        ("3\u03bcs", timedelta(microseconds=3)),
        ("1500ns", timedelta(microseconds=2)),
        ("2h45m30.5s", timedelta(hours=2, minutes=45, seconds=30.5)),
        ("1m1m", timedelta(minutes=2)),
    ],
)
def test_valid_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "30", "00", "-5m", "+5m", "5 m", "5M", "1d", "1h 30m", "h", ".m", "1..5h", " 5m", "5m "],
)
def test_invalid_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Go duration"):
        parse_duration(text)


def test_out_of_range_and_absurd_inputs() -> None:
    with pytest.raises(ValueError, match="longer than a Go duration can be"):
        parse_duration("3000000h")
    with pytest.raises(ValueError):
        parse_duration("1" * 10_000 + "h")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(0), "0"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(seconds=45), "45s"),
        (timedelta(hours=24), "24h"),
        (timedelta(milliseconds=1500), "1.5s"),
    ],
)
def test_format_round_trips(value: timedelta, text: str) -> None:
    assert format_duration(value) == text
    assert parse_duration(text) == value
