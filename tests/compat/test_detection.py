"""Real GitLab payloads through Mate's event detection (issue 17: payload compatibility, part a).

Each case of `catalogue.CASES` runs one fixture (GitLab's documented example, or a one-step
variant built the way GitLab's builders build it) with a roster chosen for it, and checks the
events (name, acting bot, object, config ref, label) or the reason there are none.
"""

from __future__ import annotations

import pytest

from jobs.events import derive_events

from .catalogue import CASES, MATE, Case, fixture, fixture_names


def _summary(case: Case) -> tuple[list[tuple], str | None]:
    fx = fixture(case.fixture)
    derivation = derive_events(fx.hook, fx.payload, case.bots, case.default)
    events = [
        (
            e.event,
            e.bot,
            e.object_kind,
            e.pipeline_id if e.object_kind == "pipeline" else e.object_iid,
            e.config_ref,
            e.new_label,
        )
        for e in derivation.events
    ]
    return events, derivation.ignored


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_detection_on_real_payloads(case: Case) -> None:
    events, ignored = _summary(case)
    assert events == list(case.events)
    assert ignored == case.ignored


def test_every_fixture_has_a_case_and_a_source() -> None:
    covered = {case.fixture for case in CASES}
    for name in fixture_names():
        fx = fixture(name)
        assert name in covered, f"fixture {name} has no detection case in catalogue.CASES"
        assert fx.meta.get("source"), f"fixture {name} does not say where it comes from"
        if "derived_from" in fx.meta:
            assert fx.meta.get("builders_followed"), f"variant {name} names no GitLab builder"
            assert fx.meta.get("changed"), f"variant {name} does not say what it changed"


def test_mention_on_a_real_mr_note_carries_what_routing_needs() -> None:
    fx = fixture("note_on_merge_request_mention")
    (event,) = derive_events(fx.hook, fx.payload, [MATE], None).events
    attrs = fx.payload["object_attributes"]
    assert (event.mentioned, event.note_id, event.note_body) == ("mate-bot", 1252, attrs["note"])
    assert event.assignee_ids == (7,) and event.assignees == ("mate-bot",)
    assert event.author == "root"  # the comment's author: the Note Hook's user
    assert (event.source_branch, event.target_branch) == ("ms-viewport", "master")
    assert event.url == fx.payload["merge_request"]["url"]
