"""The state machine without Docker: transitions, cancel, slots, the enqueue on dispatch and the
every-minute task (SPEC §6.1, §6.7, §9)."""

from __future__ import annotations

import uuid

import pytest

from jobs import tasks
from jobs.models import Job, JobEvent, JobStatus, Outcome
from jobs.services import lifecycle
from tests.runner.helpers import events, transitions
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _job(tenant, status=JobStatus.PENDING, **fields):
    return Job.objects.create(
        tenant=tenant,
        event_key=uuid.uuid4().hex,
        event="issue_assigned",
        bot_username="mate-bot",
        agent="helper",
        trigger="tenant[0]",
        project_id=1,
        object_kind="issue",
        object_iid=1,
        loop_key="issue/1",
        status=status,
        snapshot={"timeout_seconds": 60, "agent": {}},
        **fields,
    )


@pytest.fixture
def queued(monkeypatch):
    calls: list[int] = []
    monkeypatch.setattr(lifecycle, "enqueue_run", calls.append)
    return calls


def test_transitions_are_checked_and_conditional():
    job = _job(TenantFactory())
    with pytest.raises(lifecycle.TransitionError):
        lifecycle.transition(job, JobStatus.RUNNING, reason="skip")
    stale = Job.objects.get(pk=job.pk)
    assert lifecycle.transition(job, JobStatus.STARTING, reason="go")
    assert not lifecycle.transition(stale, JobStatus.STARTING, reason="again")  # lost the race
    assert stale.status == JobStatus.STARTING  # reloaded
    assert transitions(job) == [("PENDING", "STARTING")]
    assert events(job, JobEvent.Kind.STATUS)[0]["reason"] == "go"


def test_cancel_a_pending_job_ends_it_at_once(queued):
    job = _job(TenantFactory())
    assert lifecycle.cancel_job(job, "tenant suspended")
    job.refresh_from_db()
    assert (job.status, job.outcome, job.cancel_reason) == (
        JobStatus.CANCELED,
        Outcome.CANCELED,
        "tenant suspended",
    )
    assert events(job, JobEvent.Kind.FINAL) == [
        {"outcome": "CANCELED", "exit_code": None, "reason": "tenant suspended"}
    ]
    assert not lifecycle.cancel_job(job, "again")


def test_cancel_an_unclaimed_starting_job_finishes_it_here(queued):
    tenant = TenantFactory()
    job = _job(tenant, JobStatus.STARTING)
    waiting = _job(tenant)
    assert lifecycle.cancel_job(job, "operator")
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert transitions(job) == [("STARTING", "FINISHING"), ("FINISHING", "CANCELED")]
    assert Job.objects.get(pk=waiting.pk).status == JobStatus.STARTING  # the slot went on
    assert queued == [waiting.pk]


def test_cancel_a_claimed_job_leaves_a_request_for_its_worker(queued):
    job = _job(TenantFactory(), JobStatus.RUNNING, worker="elsewhere:1")
    assert lifecycle.cancel_job(job, "operator")
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.cancel_requested_at is not None and job.cancel_reason == "operator"


def test_run_job_on_a_job_that_is_not_starting_does_nothing():
    job = _job(TenantFactory(), JobStatus.DONE)
    lifecycle.run_job(job.pk)
    lifecycle.run_job(987654)  # gone
    assert Job.objects.get(pk=job.pk).events.count() == 0


def test_a_cancel_requested_before_the_worker_claims_wins(queued):
    job = _job(TenantFactory(), JobStatus.STARTING)
    Job.objects.filter(pk=job.pk).update(cancel_requested_at=job.created_at, cancel_reason="x")
    lifecycle.run_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)


def test_start_pending_fills_free_slots_oldest_first(queued):
    tenant = TenantFactory(mates=2)
    _job(tenant, JobStatus.RUNNING)
    first, second = _job(tenant), _job(tenant)
    assert lifecycle.start_pending(tenant.pk) == 1
    assert Job.objects.get(pk=first.pk).status == JobStatus.STARTING
    assert Job.objects.get(pk=second.pk).status == JobStatus.PENDING
    assert queued == [first.pk]
    assert lifecycle.start_pending(tenant.pk) == 0  # full


def test_start_pending_honours_the_concurrency_policy_and_suspension(queued):
    from tenants import services
    from tests.tenants.factories import UserFactory

    tenant = TenantFactory(mates=5)
    services.save_config(
        tenant=tenant,
        text="version: 1\nagents: {}\ntriggers: []\npolicies:\n  concurrency: 1\n",
        author=UserFactory(),
    )
    _job(tenant, JobStatus.RUNNING)
    _job(tenant)
    assert lifecycle.slot_cap(tenant) == 1
    assert lifecycle.start_pending_all() == 0
    other = TenantFactory(mates=1)
    _job(other)
    other.suspended_at = other.created_at
    other.save(update_fields=["suspended_at"])
    assert lifecycle.start_pending_all() == 0
    assert queued == []


def _route(tenant, status):
    """routing._create_job with a minimal decision, inside a transaction like routing's."""
    from datetime import timedelta
    from types import SimpleNamespace

    from django.db import transaction

    from jobs.events import Event
    from jobs.models import Delivery
    from jobs.services import routing

    event = Event(
        event="issue_assigned",
        bot="mate-bot",
        project_id=1,
        project_path="acme/widget",
        project_default_branch="main",
        object_kind="issue",
        object_iid=uuid.uuid4().int % 1000,
        config_ref="main",
        config_ref_reason="default branch",
    )
    agent = SimpleNamespace(
        name="helper",
        backend="claude-code",
        model="m",
        system_prompt="s",
        permissions=("read",),
        description="",
        image=None,
        timeout=timedelta(minutes=5),
        env={},
        keep_container=False,
        origin="tenant",
        base=None,
    )
    trigger = SimpleNamespace(on="issue_assigned", origin="tenant", index=0)
    match = SimpleNamespace(agent=agent, trigger=trigger, timeout=timedelta(minutes=5))
    decision = SimpleNamespace(match=match, trigger={"origin": "tenant"}, authorities=["read"])
    delivery = Delivery.objects.create(tenant=tenant, idempotency_key=uuid.uuid4().hex)
    with transaction.atomic():
        job = routing._create_job(tenant, delivery, event, decision, "abc", status)
        yield job
    yield job


def test_dispatch_queues_run_job_after_commit_for_starting_jobs_only(queued):
    tenant = TenantFactory()
    steps = _route(tenant, JobStatus.STARTING)
    job = next(steps)
    assert queued == []  # not before the routing transaction commits
    next(steps)
    assert queued == [job.pk]
    pending = list(_route(tenant, JobStatus.PENDING))[0]
    assert pending.status == JobStatus.PENDING and queued == [job.pk]


def test_periodic_minute_runs_every_step_even_when_one_fails(monkeypatch):
    from jobs import credentials

    ran = []
    monkeypatch.setattr(credentials, "revoke_due_tokens", lambda: ran.append("revoke") or 0)

    def broken():
        ran.append("reap")
        raise RuntimeError("engine down")

    monkeypatch.setattr(lifecycle, "reap", broken)
    monkeypatch.setattr(lifecycle, "start_pending_all", lambda: ran.append("pending") or 0)
    tasks.periodic_minute()
    assert ran == ["revoke", "reap", "pending"]
