"""T6: a cost storm of 100 mentions is capped, and every refused one is on the record.

The simulator creates 100 notes that mention a bot and sends their signed Note Hooks to
``POST /hook/<tenant>`` of a live Mate in one burst, ten at a time, as GitLab's Sidekiq does.
The webhook stores each delivery and queues it; four threads then drain that queue the way
Celery workers do (in parallel, so the gates race each other as in production). What the test
checks is the outcome, never the time it took:

* tenant "storm" (loop breaker 3 per object and hour, 2 running, 5 pending): 70 mentions on four
  issues give exactly 2 + 5 jobs, no issue more than 3, every other mention ``refused`` by the
  loop breaker or ``rejected_queue_full``, each with its reason;
* tenant "calm" (cooldown 1h): 30 mentions on two issues give exactly one job, 29 times
  ``skipped_cooldown`` with the next allowed time;
* nothing is lost: 100 answers 200, 100 deliveries stored, each queued once and processed once,
  each with exactly one recorded resolution.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from django.db import connection

from jobs.models import Delivery, DeliveryEvent, Job, JobStatus, Resolution
from jobs.services import routing
from tenants import services
from tests.gitlab_sim.operations import add_note
from tests.jobs.conftest import TENANT_CONFIG
from tests.tenants.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LOOP_CAP = 3  # MATE_MAX_JOBS_PER_OBJECT_PER_HOUR
PENDING_CAP = 5  # MATE_MAX_PENDING_PER_TENANT
CONCURRENCY = 2  # policies.concurrency of "storm" (its mates: 3, so 2 is the real cap)
# Mentions per issue, in the order they are sent: the first issue is hammered first.
STORM = {"Hammered": 40, "Second": 10, "Third": 10, "Fourth": 10}
CALM = {"Quiet one": 15, "Quiet two": 15}
SENDERS = 10  # deliveries in flight at once
WORKERS = 4  # threads processing deliveries at once


@dataclass
class Tenant:
    tenant: object
    project: object
    bot: str
    issues: dict  # title -> issue


def _tenant(sim, live_server, name, project_path, bot_name, human, policies) -> Tenant:
    bot = sim.add_user(bot_name)
    pat = sim.add_pat(bot, scopes=["api"])
    project = sim.add_project(project_path, members={bot: 40, human: 40}, files={"README.md": "x"})
    owner = UserFactory()
    tenant, secret = services.create_tenant(user=owner, name=name, gitlab_url=sim.url)
    services.register_bot(tenant=tenant, token=pat)
    services.save_config(tenant=tenant, text=TENANT_CONFIG + policies, author=owner)
    signing = services.rotate_signing_secret(tenant=tenant)
    sim.add_hook(
        project, f"{live_server.url}/hook/{tenant.uid}", token=secret, signing_token=signing
    )
    tenant.refresh_from_db()
    return Tenant(tenant, project, bot_name, {})


def _mentions(sim, side: Tenant, counts: dict, human) -> list:
    """Notes mentioning the bot, created the way a person writes them; their deliveries built
    (signed, with GitLab's headers) but not sent yet."""
    pending = []
    for title, count in counts.items():
        issue = sim.add_issue(side.project, title, "", human)
        side.issues[title] = issue
        for n in range(count):
            with sim.state.lock:
                project, obj = sim._issuable(side.project, "issue", issue.iid)
                note = add_note(sim, project, obj, human, f"@{side.bot} please, #{n}", False, False)
                pending.extend(sim.note_event(project, obj, note))
    return pending


def _interleave(*lists: list) -> list:
    """storm[0], calm[0], storm[1], calm[1], ...: both tenants are hit at the same time."""
    out = []
    for i in range(max(len(x) for x in lists)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def _drain(queued: list[int]) -> None:
    """Process the queued deliveries in parallel, like several Celery workers."""
    lock = threading.Lock()
    todo = list(queued)

    def worker():
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    delivery_id = todo.pop(0)
                routing.process_delivery(delivery_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(t.is_alive() for t in threads), "a processing thread did not finish"


def test_a_storm_of_100_mentions_is_capped_and_every_refusal_is_logged(
    gitlab_sim, live_server, settings, monkeypatch
):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True
    settings.MATE_MAX_JOBS_PER_OBJECT_PER_HOUR = LOOP_CAP
    settings.MATE_MAX_PENDING_PER_TENANT = PENDING_CAP
    queued: list[int] = []
    queue_lock = threading.Lock()

    def record_delay(delivery_id):
        with queue_lock:
            queued.append(delivery_id)

    # The broker: what the webhook queues is collected here and drained below.
    monkeypatch.setattr("jobs.tasks.process_delivery.delay", record_delay)
    started: list[int] = []
    monkeypatch.setattr("jobs.services.lifecycle.enqueue_run", started.append)

    sim = gitlab_sim
    human = sim.add_user("alice")
    storm = _tenant(
        sim,
        live_server,
        "Storm",
        "acme/widget",
        "mate-bot",
        human,
        f"policies:\n  concurrency: {CONCURRENCY}\n",
    )
    calm = _tenant(
        sim, live_server, "Calm", "acme/gadget", "calm-bot", human, "policies:\n  cooldown: 1h\n"
    )
    type(storm.tenant).objects.filter(pk=storm.tenant.pk).update(mates=3)
    deliveries = _interleave(_mentions(sim, storm, STORM, human), _mentions(sim, calm, CALM, human))
    assert len(deliveries) == 100

    # The burst: 100 signed deliveries, SENDERS at a time, against the real endpoint.
    with ThreadPoolExecutor(SENDERS) as pool:
        sent = list(pool.map(sim.dispatcher.send, deliveries))
    answers = Counter((d.status, d.error) for d in sent)
    assert answers == {(200, None): 100}, answers
    assert all(b'"duplicate": false' in d.response_body for d in sent)

    # Nothing lost between the 200 and processing: 100 rows, each queued exactly once.
    stored = Delivery.objects.all()
    assert stored.count() == 100
    assert {d.idempotency_key for d in stored} == {d.idempotency_key for d in sent}
    assert sorted(queued) == sorted(stored.values_list("pk", flat=True))
    assert all("webhook-signature" in d.headers for d in sent)

    _drain(sorted(queued))

    # Every delivery processed once, with exactly one recorded resolution.
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.PROCESSED}
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    rows = list(DeliveryEvent.objects.select_related("delivery", "job"))
    assert Counter(r.delivery_id for r in rows) == {d.pk: 1 for d in stored}
    assert {r.event for r in rows} == {"comment_mention"}
    assert all(r.resolution and r.reason for r in rows)

    _assert_storm_capped(storm, [r for r in rows if r.tenant_id == storm.tenant.pk])
    _assert_cooldown_held(calm, [r for r in rows if r.tenant_id == calm.tenant.pk])
    # Only jobs with a free slot were handed to the runner.
    starting = Job.objects.filter(status=JobStatus.STARTING)
    assert sorted(started) == sorted(starting.values_list("pk", flat=True))


def _issue_of(row) -> int:
    return row.delivery.body["issue"]["iid"]


def _assert_storm_capped(side: Tenant, rows: list) -> None:
    assert len(rows) == sum(STORM.values())
    jobs = Job.objects.filter(tenant=side.tenant)
    # Exactly what the caps allow: 2 running slots and 5 queued, out of 12 the loop breaker
    # would have let through (3 per issue).
    allowed = min(CONCURRENCY + PENDING_CAP, LOOP_CAP * len(STORM))
    assert jobs.count() == allowed
    statuses = Counter(jobs.values_list("status", flat=True))
    assert statuses == {JobStatus.STARTING: CONCURRENCY, JobStatus.PENDING: PENDING_CAP}
    per_issue = Counter(jobs.values_list("object_iid", flat=True))
    assert max(per_issue.values()) <= LOOP_CAP, per_issue
    # The hammered issue, sent first, reached the loop breaker.
    hammered = side.issues["Hammered"].iid
    assert per_issue[hammered] == LOOP_CAP

    outcome = Counter(r.resolution for r in rows)
    assert set(outcome) == {
        Resolution.DISPATCHED,
        Resolution.REFUSED,
        Resolution.REJECTED_QUEUE_FULL,
    }, outcome
    assert outcome[Resolution.DISPATCHED] == allowed
    for row in rows:
        if row.resolution == Resolution.DISPATCHED:
            assert row.job is not None and row.job.object_iid == _issue_of(row)
            continue
        assert row.job is None
        if row.resolution == Resolution.REFUSED:
            assert row.reason == (
                f"loop breaker: {LOOP_CAP} jobs on issue/{_issue_of(row)} in the last hour "
                "(MATE_MAX_JOBS_PER_OBJECT_PER_HOUR)"
            )
            assert per_issue[_issue_of(row)] == LOOP_CAP
        else:
            assert row.reason == "too many pending jobs (MATE_MAX_PENDING_PER_TENANT)"
    refused_on_hammered = [
        r for r in rows if r.resolution == Resolution.REFUSED and _issue_of(r) == hammered
    ]
    assert len(refused_on_hammered) >= STORM["Hammered"] - LOOP_CAP - PENDING_CAP - CONCURRENCY
    print(f"\nstorm tenant: {dict(outcome)}; jobs per issue: {dict(per_issue)}")


def _assert_cooldown_held(side: Tenant, rows: list) -> None:
    assert len(rows) == sum(CALM.values())
    jobs = list(Job.objects.filter(tenant=side.tenant).values_list("status", flat=True))
    assert jobs == [JobStatus.STARTING], jobs
    outcome = Counter(r.resolution for r in rows)
    assert outcome == {Resolution.DISPATCHED: 1, Resolution.SKIPPED_COOLDOWN: len(rows) - 1}
    for row in rows:
        if row.resolution == Resolution.SKIPPED_COOLDOWN:
            assert row.job is None
            assert row.reason.startswith("cooldown until ")
            assert row.detail["next_allowed_at"]
    print(f"calm tenant: {dict(outcome)}")
