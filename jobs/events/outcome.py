"""How a delivery's reading ends: events, or one human reason why there are none."""

from __future__ import annotations

from .model import Derivation, Event

NO_BOT = "no registered bot involved"
NO_PROJECT = "project id is missing or not an integer"
NO_ATTRIBUTES = "object_attributes is missing or not an object"


def printable(value: object, limit: int = 80) -> str:
    """`value` as a short, single-line string fit for a log line or a console page."""
    text = value if isinstance(value, str) else repr(value)
    shown = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def result(events: list[Event], quiet: str) -> Derivation:
    """The events without repeats (first occurrence wins), or `quiet` when there are none."""
    unique: dict[str, Event] = {}
    for event in events:
        unique.setdefault(event.dedupe_key(), event)
    return Derivation(list(unique.values()), None) if unique else ignored(quiet)


def ignored(reason: str) -> Derivation:
    """No event, for `reason`."""
    return Derivation([], reason)


def malformed(problem: str) -> Derivation:
    """No event, because the payload lacks something it must have."""
    return Derivation([], f"malformed payload: {problem}")
