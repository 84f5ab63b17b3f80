"""configschema.events: the six events and EventFacts."""

from __future__ import annotations

import dataclasses

import pytest

from configschema import EVENTS, EventFacts


def test_the_six_events() -> None:
    assert EVENTS == (
        "issue_assigned",
        "mr_assigned",
        "mr_opened",
        "comment_mention",
        "label_applied",
        "pipeline_failed",
    )


def test_facts_default_to_not_applicable() -> None:
    facts = EventFacts(event="pipeline_failed")
    assert facts.assignees == () and facts.labels == ()
    assert facts.draft is None and facts.ref is None and facts.new_label is None


def test_facts_are_frozen_and_checked() -> None:
    facts = EventFacts(event="mr_opened")
    with pytest.raises(dataclasses.FrozenInstanceError):
        facts.event = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown event 'push'"):
        EventFacts(event="push")
