"""One GitLab event, one job (SPEC §5.1): events are deduplicated by identity across
deliveries (jobs/routing/identity.py), beyond the delivery-level Idempotency-Key.

The simulator sends what GitLab sends: a project hook and a group hook each with their own
Idempotency-Key and UUIDs, and, before GitLab 17.4, no Idempotency-Key and a new
X-Gitlab-Event-UUID on "Resend request" (tests/simulator/test_hook_test_and_group_hooks.py).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.events import Event
from jobs.models import Delivery, DeliveryEvent, EventIdentity, Job
from jobs.routing import identity
from jobs.services.explain import explain_delivery
from jobs.services.retention import purge_old_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def group_hooked(world):
    """The tenant's URL also as a hook of the project's group (GitLab Premium group hooks)."""
    hook = world.project.hooks[0]
    return world.sim.add_group_hook("acme", hook.url, token=hook.token)


def rows() -> list[tuple[str, str, str]]:
    return list(DeliveryEvent.objects.order_by("id").values_list("event", "resolution", "reason"))


def first_delivery() -> Delivery:
    return Delivery.objects.order_by("id").first()


def test_a_project_hook_and_a_group_hook_give_one_job(world):
    group_hooked(world)
    issue = world.sim.add_issue(world.project, "Crash", "", world.human)
    sent = world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert [d.status for d in sent] == [200, 200]
    assert Delivery.objects.count() == 2  # two keys: the delivery-level dedupe lets both in
    assert Job.objects.count() == 1
    assert rows() == [
        ("issue_assigned", "dispatched", rows()[0][2]),
        (
            "issue_assigned",
            "ignored",
            f"duplicate event: already routed from delivery {first_delivery().uid}",
        ),
    ]


def test_an_mr_opening_through_both_hooks_gives_its_jobs_once(world):
    group_hooked(world)
    world.sim.create_branch(world.project, "feature/z")
    world.sim.open_merge_request(
        world.project, "feature/z", "main", author=world.human, title="Z", assignees=["mate-bot"]
    )
    assert [(e, r) for e, r, _ in rows()] == [
        ("mr_opened", "dispatched"),
        ("mr_assigned", "dispatched"),
        ("mr_opened", "ignored"),
        ("mr_assigned", "ignored"),
    ]
    assert Job.objects.count() == 2


def test_a_resent_delivery_before_gitlab_17_4_gives_one_job(world):
    world.sim.dispatcher.gitlab_version = "17.3.7"  # no Idempotency-Key
    issue = world.sim.add_issue(world.project, "Once", "", world.human)
    (delivery,) = world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert "Idempotency-Key" not in delivery.headers
    again = world.sim.redeliver(delivery)  # "Resend request": a new X-Gitlab-Event-UUID
    assert again.status == 200
    assert Delivery.objects.count() == 2
    assert Job.objects.count() == 1
    assert rows()[1][1:] == (
        "ignored",
        f"duplicate event: already routed from delivery {first_delivery().uid}",
    )


def test_two_mentions_are_two_events_even_through_two_hooks(world):
    group_hooked(world)
    issue = world.sim.add_issue(world.project, "Q", "", world.human)
    world.sim.post_note(world.project, "issue", issue.iid, "@mate-bot one", world.human)
    world.sim.post_note(world.project, "issue", issue.iid, "@mate-bot two", world.human)
    assert Job.objects.count() == 2
    assert [r for _, r, _ in rows()] == ["dispatched", "ignored", "dispatched", "ignored"]


def test_the_same_issue_assigned_again_later_is_a_new_event(world):
    sim = world.sim
    issue = sim.add_issue(world.project, "Again", "", world.human)
    sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    sim.state.clock_offset += dt.timedelta(minutes=1)  # a later updated_at
    sim.unassign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    sim.state.clock_offset += dt.timedelta(minutes=1)
    sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    assert Job.objects.count() == 2
    assert [(e, r) for e, r, _ in rows()] == [
        ("issue_assigned", "dispatched"),
        ("", "ignored"),  # the unassignment involves no bot
        ("issue_assigned", "dispatched"),
    ]


def test_explain_never_calls_a_delivery_its_own_duplicate(world):
    group_hooked(world)
    issue = world.sim.add_issue(world.project, "Explain", "", world.human)
    world.sim.assign_issue(world.project, issue.iid, ["mate-bot"], by=world.human)
    first, second = Delivery.objects.order_by("id")
    (original,) = explain_delivery(first).events
    assert (original.resolution, original.refusal) == ("matched", "")
    (copy,) = explain_delivery(second).events
    assert copy.resolution == "ignored"
    assert copy.refusal == f"duplicate event: already routed from delivery {first.uid}"


# --- the claim itself ----------------------------------------------------------------------


def event(**fields) -> Event:
    base = {
        "event": "issue_assigned",
        "bot": "mate-bot",
        "project_id": 14,
        "project_path": "acme/widget",
        "project_default_branch": "main",
        "object_kind": "issue",
        "object_iid": 23,
        "config_ref": "main",
        "config_ref_reason": "project default branch",
        "action": "update",
        "updated_at": "2026-01-05 10:00:00 UTC",
    }
    return Event(**{**base, **fields})


@pytest.fixture
def two_deliveries(world):
    def make(key):
        return Delivery.objects.create(tenant=world.tenant, hook="Issue Hook", idempotency_key=key)

    return world.tenant, make("a"), make("b")


def test_the_window_and_what_makes_an_identity(two_deliveries):
    tenant, a, b = two_deliveries
    now = timezone.now()
    assert identity.claim(tenant, a, event(), now) is None
    assert identity.claim(tenant, b, event(), now + dt.timedelta(minutes=9)) is not None
    # Past the window the claim is stale: the event routes again.
    assert identity.claim(tenant, b, event(), now + dt.timedelta(minutes=11)) is None
    # A different change, another mention, another label, another bot: other identities.
    later = now + dt.timedelta(minutes=12)
    for other in (
        event(updated_at="2026-01-05 10:00:01 UTC"),
        event(action="open"),
        event(event="label_applied", new_label="mate"),
        event(bot="mate.review"),
    ):
        assert identity.claim(tenant, a, other, later) is None
    mention = event(event="comment_mention", note_id=7, updated_at=None)
    assert identity.claim(tenant, a, mention, later) is None
    assert identity.claim(tenant, b, mention, later) is not None
    assert identity.claim(tenant, b, event(event="comment_mention", note_id=8), later) is None
    # No timestamp, no identity: never taken for a duplicate.
    assert identity.claim(tenant, a, event(updated_at=None), later) is None
    assert identity.claim(tenant, b, event(updated_at=None), later) is None


def test_the_claim_is_a_unique_constraint(two_deliveries):
    tenant, a, b = two_deliveries
    assert identity.claim(tenant, a, event()) is None
    with pytest.raises(IntegrityError), transaction.atomic():
        EventIdentity.objects.create(
            tenant=tenant, key=identity.key_of(event()), delivery=b, seen_at=timezone.now()
        )


def test_stale_claims_are_purged(two_deliveries):
    tenant, a, b = two_deliveries
    now = timezone.now()
    identity.claim(tenant, a, event(), now - dt.timedelta(minutes=11))
    identity.claim(tenant, a, event(action="close"), now)
    assert purge_old_data(now=now)["event_identities"] == 1
    assert EventIdentity.objects.count() == 1
