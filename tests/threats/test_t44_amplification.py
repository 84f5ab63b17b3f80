"""T44: a delivery or a viewer never amplifies into thousands of GitLab calls, nor fills the
database (SPEC §5.1 bounded storage, §5.2 per-delivery bounds, §5.4 Explain).

* The simulator adds 500 labels to an issue assigned to the bot and sends its Issue Hook to a
  live Mate. Two of the first twenty labels match the tenant's ``label_applied`` trigger. Mate
  routes at most MATE_MAX_EVENTS_PER_DELIVERY (20) events and records the rest as one
  ``ignored`` outcome naming the cap; GitLab, counted at the simulator, is asked for the project
  once and for ``.mate.yml`` once (plus the branch head, the file being missing), to confirm
  the issue once (SPEC §5.3 step 3a) and for the actor's membership once (step 4a): the other
  eighteen events could match no trigger and cost no request. A second 500-label delivery of
  which no label could match costs no GitLab request at all.
* Explain is a POST for operators and owners: a viewer gets 403 (and GitLab is not asked), a
  GET is 405, the 11th explain of an operator in a minute is 429 while another operator still
  gets their first; an explain of the 500-label delivery runs within routing's bounds.
* 150 valid Push Hooks of 1 MiB each, built and sent by the simulator's webhook dispatcher,
  are all answered 200 and stored in at most 10 MiB: each keeps its headers and its first
  64 KiB, marked as cut.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client

from jobs.models import Delivery, DeliveryEvent, Job, Resolution
from tenants import services
from tenants.models import Role
from tests.jobs.conftest import eager_celery, world
from tests.tenants.factories import UserFactory

__all__ = ["eager_celery", "world"]  # the live GitLab world of the routing tests, reused here

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

CAP = 20  # MATE_MAX_EVENTS_PER_DELIVERY's default
LABELLED_CONFIG = """\
version: 1
agents:
  helper:
    backend: claude-code
    model: claude-sonnet-4-6
    system_prompt: Help with the issue.
    permissions: [read, comment]
triggers:
  - on: label_applied
    agent: helper
    label: [mate, mate-urgent]
"""


def _labels(matching: dict[int, str], count: int = 500) -> list[str]:
    labels = [f"noise-{n:03d}" for n in range(count)]
    for position, name in matching.items():
        labels[position] = name
    return labels


def _api_requests(sim) -> list:
    return [r for r in sim.requests if r.kind == "api"]


def _labelled_issue(world):
    sim = world.sim
    issue = sim.add_issue(world.project, "Crash", "", world.human, assignees=[world.bot])
    world.config(LABELLED_CONFIG)
    return issue


def _add_labels(world, issue, labels) -> Delivery:
    before = set(Delivery.objects.values_list("pk", flat=True))
    world.sim.requests.clear()
    (sent,) = world.sim.add_labels(world.project, "issue", issue.iid, labels, by=world.human)
    assert sent.status == 200, sent.response_body
    (delivery,) = Delivery.objects.exclude(pk__in=before)
    return delivery


def test_500_labels_make_at_most_20_events_and_a_few_gitlab_requests(world):
    issue = _labelled_issue(world)
    delivery = _add_labels(world, issue, _labels({4: "mate", 11: "mate-urgent"}))
    requests = _api_requests(world.sim)

    outcomes = list(DeliveryEvent.objects.filter(delivery=delivery).order_by("position"))
    routed = [o for o in outcomes if o.event]
    assert len(routed) == CAP
    assert {o.event for o in routed} == {"label_applied"}
    (rest,) = [o for o in outcomes if not o.event]
    assert rest.resolution == Resolution.IGNORED
    assert rest.reason == (
        "480 more event(s) of this delivery not routed: at most 20 per delivery "
        "(MATE_MAX_EVENTS_PER_DELIVERY)"
    )
    matched = [o for o in routed if o.resolution != Resolution.NO_TRIGGER]
    assert [o.position for o in matched] == [4, 11]
    assert matched[0].resolution == Resolution.DISPATCHED
    assert Job.objects.filter(delivery=delivery).count() >= 1

    project = f"/api/v4/projects/{world.project.id}"
    assert [r.path for r in requests if r.path == project] == [project]
    files = [r for r in requests if "/repository/files/" in r.path]
    assert len(files) == 1, [r.path for r in files]  # .mate.yml once for both events at main
    issue_reads = [r for r in requests if r.path == f"{project}/issues/{issue.iid}"]
    assert len(issue_reads) == 1  # the confirmation, once for both events
    assert len([r for r in requests if "/members/all/" in r.path]) == 1  # the actor, once
    assert len(requests) <= 5, [f"{r.method} {r.path}" for r in requests]

    # No label of this one could match a trigger: GitLab is not asked at all.
    quiet = _add_labels(world, issue, [f"other-{n:03d}" for n in range(500)])
    assert _api_requests(world.sim) == []
    assert quiet.outcomes.filter(resolution=Resolution.NO_TRIGGER).count() == CAP
    assert all("GitLab was not asked" in o.reason for o in routed if o not in matched)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_explain_is_a_rate_limited_post_for_operators_within_routings_bounds(world):
    issue = _labelled_issue(world)
    delivery = _add_labels(world, issue, _labels({2: "mate"}))
    tenant = world.tenant
    viewer, operator, second = UserFactory(), UserFactory(), UserFactory()
    for user, role in ((viewer, Role.VIEWER), (operator, Role.OPERATOR), (second, Role.OPERATOR)):
        services.add_member(tenant=tenant, username=user.username, role=role)
    url = f"/t/{tenant.uid}/deliveries/{delivery.uid}/explain"
    world.sim.requests.clear()

    assert _signed_in(viewer).post(url).status_code == 403
    assert _signed_in(operator).get(url).status_code == 405
    assert _api_requests(world.sim) == []

    client = _signed_in(operator)
    first = client.post(url)
    assert first.status_code == 200
    explanation = first.context["explanation"]
    assert len(explanation.events) == CAP
    assert explanation.left_out.startswith("480 more event(s)")
    assert [r.resolution for r in explanation.events].count("matched") == 1
    assert len(_api_requests(world.sim)) <= 5  # routing's bounds: one read per question

    answers = [client.post(url).status_code for _ in range(9)]
    assert answers == [200] * 9
    world.sim.requests.clear()
    limited = client.post(url)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert _api_requests(world.sim) == []
    assert _signed_in(second).post(url).status_code == 200  # per user


def _push_payload(sim, project, size: int) -> dict:
    """A Push Hook as GitLab sends it (at most 20 commits), padded to about ``size`` bytes."""
    web_url = f"{sim.url}/{project.path_with_namespace}"
    message = "x" * (size // 20)
    commits = [
        {
            "id": f"{n:040x}",
            "message": message,
            "title": "padding",
            "timestamp": "2026-01-01T00:00:00+00:00",
            "url": f"{web_url}/-/commit/{n:040x}",
            "author": {"name": "Alice", "email": "alice@example.com"},
            "added": [],
            "modified": ["README.md"],
            "removed": [],
        }
        for n in range(20)
    ]
    return {
        "object_kind": "push",
        "event_name": "push",
        "before": "0" * 40,
        "after": f"{19:040x}",
        "ref": "refs/heads/main",
        "user_username": "alice",
        "project_id": project.id,
        "project": {"id": project.id, "web_url": web_url},
        "commits": commits,
        "total_commits_count": 20,
    }


def _stored_bytes(row: tuple) -> int:
    body, head, headers = row
    return len(json.dumps(body).encode()) + len(head.encode()) + len(json.dumps(headers).encode())


def test_150_pushes_of_1_mib_store_at_most_10_mib(world, monkeypatch):
    monkeypatch.setattr("jobs.tasks.process_delivery.delay", lambda delivery_id: None)
    sim = world.sim
    (hook,) = world.project.hooks
    payload = _push_payload(sim, world.project, 1024 * 1024)
    sent = [
        sim.dispatcher.send(sim.dispatcher.build(hook, "Push Hook", payload, f"push-{n}"))
        for n in range(150)
    ]
    assert {d.status for d in sent} == {200}
    assert min(len(d.body) for d in sent) >= 1024 * 1024

    rows = list(Delivery.objects.values_list("body", "body_head", "headers"))
    assert len(rows) == 150
    stored = sum(_stored_bytes(row) for row in rows)
    assert stored <= 10 * 1024 * 1024, f"{stored / 2**20:.1f} MiB stored"
    kept = Delivery.objects.first()
    assert (kept.body_cut, kept.body, kept.received_bytes) == (True, None, len(sent[0].body))
    assert kept.body_head == sent[0].body[: 64 * 1024].decode()
    assert kept.headers["X-Gitlab-Event"] == "Push Hook"
