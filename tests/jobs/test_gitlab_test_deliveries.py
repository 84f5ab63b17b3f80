"""GitLab's "Test" button starts no job (SPEC §5.2): its deliveries are recognised by how
GitLab builds them (jobs/events/gitlab_test.py), while the real events they copy dispatch.

The simulator's Test endpoint builds them as Integrations::ProjectTestData does
(tests/gitlab_sim/hook_test_data.py, tests/simulator/test_hook_test_and_group_hooks.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F

from jobs.events import GITLAB_TEST_DELIVERY
from jobs.events.gitlab_test import is_gitlab_test
from jobs.models import Delivery, DeliveryEvent, EventIdentity, Job
from jobs.routing import identity

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def press_test(world, trigger: str, who=None) -> None:
    """Settings > Webhooks > Test > ``trigger``, as ``who`` (a Maintainer; alice by default)."""
    import gitlab

    user = who or world.human
    gl = gitlab.Gitlab(world.sim.url, private_token=world.sim.add_pat(user, ["api"]))
    hook = world.project.hooks[0]
    gl.projects.get(world.project.id, lazy=True).hooks.get(hook.id, lazy=True).test(trigger)


def much_later() -> None:
    """The button is pressed after the event-identity window: only recognition can tell."""
    EventIdentity.objects.update(seen_at=F("seen_at") - identity.WINDOW - dt.timedelta(minutes=1))


def last_outcomes() -> list[tuple[str, str, str]]:
    delivery = Delivery.objects.order_by("id").last()
    return list(
        DeliveryEvent.objects.filter(delivery=delivery).values_list("event", "resolution", "reason")
    )


def test_merge_request_events_test_starts_no_job(world):
    sim = world.sim
    sim.create_branch(world.project, "feature/x")
    sim.open_merge_request(
        world.project, "feature/x", "main", author=world.human, title="X", assignees=["mate-bot"]
    )
    assert Job.objects.count() == 2  # the real opening: mr_opened and mr_assigned
    much_later()
    press_test(world, "merge_requests_events")
    assert Delivery.objects.count() == 2
    assert last_outcomes() == [("", "ignored", GITLAB_TEST_DELIVERY)]
    assert Job.objects.count() == 2


def test_issue_events_tests_start_no_job(world):
    sim = world.sim
    issue = sim.add_issue(world.project, "Crash", "", world.human)
    sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert Job.objects.count() == 1  # the real assignment dispatches
    much_later()
    press_test(world, "issues_events")
    assert last_outcomes() == [("", "ignored", GITLAB_TEST_DELIVERY)]
    press_test(world, "confidential_issues_events")  # an Issue Hook body, confidential header
    assert last_outcomes() == [("", "ignored", GITLAB_TEST_DELIVERY)]
    assert Job.objects.count() == 1


def test_note_events_test_starts_no_job(world):
    sim = world.sim
    maria = sim.add_user("maria")
    world.project.members[maria.id] = 40
    issue = sim.add_issue(world.project, "Question", "", world.human)
    sim.post_note(world.project, "issue", issue.iid, "@mate-bot please look", world.human)
    assert Job.objects.count() == 1  # the real mention dispatches
    much_later()
    press_test(world, "note_events", who=maria)
    assert last_outcomes() == [("", "ignored", GITLAB_TEST_DELIVERY)]
    assert Job.objects.count() == 1


def test_tests_gitlab_cannot_be_told_apart_from_are_duplicates(world):
    """A note test pressed by the note's author and a pipeline test carry exactly the real
    event's data; within the identity window they are duplicates of it (SPEC §5.1)."""
    sim = world.sim
    issue = sim.add_issue(world.project, "Question", "", world.human)
    (mention,) = sim.post_note(world.project, "issue", issue.iid, "@mate-bot hi", world.human)
    press_test(world, "note_events")  # alice, the note's author, presses it
    first = Delivery.objects.order_by("id").first()
    assert last_outcomes() == [
        ("comment_mention", "ignored", f"duplicate event: already routed from delivery {first.uid}")
    ]
    sim.fail_pipeline(world.project, "main", by=world.human)
    assert Job.objects.count() == 2
    press_test(world, "pipeline_events")
    ((event, resolution, reason),) = last_outcomes()
    assert (event, resolution) == ("pipeline_failed", "ignored")
    assert reason.startswith("duplicate event: already routed from delivery ")
    assert Job.objects.count() == 2


def test_real_opening_assignment_and_mention_still_dispatch(world):
    sim = world.sim
    sim.create_branch(world.project, "feature/y")
    sim.open_merge_request(world.project, "feature/y", "main", author=world.human, title="Y")
    issue = sim.add_issue(world.project, "Bug", "", world.human)
    sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    sim.post_note(world.project, "issue", issue.iid, "@mate-bot go", world.human)
    rows = DeliveryEvent.objects.order_by("id").values_list("event", "resolution")
    assert list(rows) == [
        ("mr_opened", "dispatched"),
        ("issue_assigned", "dispatched"),
        ("comment_mention", "dispatched"),
    ]


@pytest.mark.parametrize(
    ("hook", "payload", "expected"),
    [
        ("Merge Request Hook", {"object_attributes": {"action": "open"}, "changes": {}}, True),
        ("Merge Request Hook", {"object_attributes": {"action": "open"}}, False),
        ("Merge Request Hook", {"object_attributes": {"action": "update"}, "changes": {}}, False),
        ("Issue Hook", {"object_attributes": {"action": "open"}, "changes": {"id": {}}}, False),
        ("Issue Hook", {"event_type": "confidential_issue", "object_attributes": {}}, True),
        ("Confidential Issue Hook", {"event_type": "issue", "object_attributes": {}}, True),
        ("Confidential Issue Hook", {"event_type": "confidential_issue"}, False),
        ("Note Hook", {"user": {"id": 1}, "object_attributes": {"author_id": 2}}, True),
        ("Note Hook", {"user": {"id": 2}, "object_attributes": {"author_id": 2}}, False),
        ("Note Hook", {"user": {"id": 1}, "object_attributes": {}}, False),
        ("Note Hook", {"event_type": "confidential_note", "object_attributes": {}}, True),
        ("Pipeline Hook", {"object_attributes": {"status": "failed"}}, False),
    ],
)
def test_what_gives_a_test_away(hook, payload, expected):
    assert is_gitlab_test(hook, payload) is expected
