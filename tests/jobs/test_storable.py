"""Routing ignores an event whose ids or project path do not fit the job row (SPEC §5.3):
GitLab ids are 64-bit, the job stores them as BIGINT and the path in a bounded column."""

from __future__ import annotations

from dataclasses import replace

import pytest

from jobs.events import Event
from jobs.models import Job
from jobs.routing.storable import fits_64_bits, unstorable

EVENT = Event(
    event="issue_assigned",
    bot="mate-bot",
    project_id=2284,
    project_path="acme/widget",
    project_default_branch="main",
    object_kind="issue",
    object_iid=7,
    config_ref="main",
    config_ref_reason="default branch",
)
LIMIT = Job._meta.get_field("project_path").max_length


def test_an_ordinary_event_fits():
    assert unstorable(EVENT) is None


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63), 0])
def test_the_64_bit_range_is_inclusive(value):
    assert fits_64_bits(value)
    assert unstorable(replace(EVENT, project_id=value, object_iid=value)) is None


@pytest.mark.parametrize(
    "field", ["project_id", "object_iid", "pipeline_id", "note_id", "source_project_id"]
)
@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**70])
def test_an_id_outside_64_bits_is_named_in_the_reason(field, value):
    reason = unstorable(replace(EVENT, **{field: value}))
    assert reason is not None
    assert reason.startswith(f"{field} ") and "out of range" in reason


def test_an_assignee_id_outside_64_bits_is_refused_too():
    assert "assignee id" in unstorable(replace(EVENT, assignee_ids=(5, 2**64)))


def test_a_huge_id_is_shortened_in_the_reason():
    reason = unstorable(replace(EVENT, object_iid=10**400))
    assert "(401 digits)" in reason and len(reason) < 200


def test_the_project_path_may_be_as_long_as_the_column():
    assert unstorable(replace(EVENT, project_path="a" * LIMIT)) is None
    reason = unstorable(replace(EVENT, project_path="a" * (LIMIT + 1)))
    assert reason == f"project path is {LIMIT + 1} characters long; Mate stores at most {LIMIT}"
