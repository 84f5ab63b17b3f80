"""The retention purge (SPEC §9): old rows go in bounded batches, newer rows stay, idempotent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jobs.models import Delivery, DeliveryEvent, Job, JobEvent, JobStatus, JobToken, Outcome
from jobs.services.retention import purge_old_data
from tests.jobs.console_world import add_event, build_world, make_delivery, make_job
from toolservice.models import ToolCall

pytestmark = pytest.mark.django_db

NOW = timezone.now()
OLD = NOW - timedelta(days=31)
RECENT = NOW - timedelta(days=29)


@pytest.fixture
def cw(db):
    return build_world()


def old_job(tenant, *, events=2, tool_calls=1, created_at=OLD, status=JobStatus.DONE, **fields):
    job = make_job(tenant, status=status, outcome=Outcome.SUCCESS, created_at=created_at, **fields)
    for i in range(events):
        add_event(job, "log", {"line": str(i)}, created_at=created_at)
    for _ in range(tool_calls):
        ToolCall.objects.create(
            job=job, tenant=tenant, tool="get_issue", transport="rest", outcome="ok"
        )
    JobToken.objects.create(job=job, kind=JobToken.Kind.GITLAB_KEY, revoked_at=created_at)
    return job


def test_old_rows_go_new_rows_stay(cw):
    old = [old_job(cw.tenant), old_job(cw.other)]
    recent = old_job(cw.tenant, created_at=RECENT)
    unfinished = old_job(cw.tenant, status=JobStatus.RUNNING)
    old_delivery = make_delivery(
        cw.tenant,
        received_at=OLD,
        outcomes=[{"event": "issue_assigned", "resolution": "dispatched", "job": old[0]}],
    )
    new_delivery = make_delivery(
        cw.tenant,
        received_at=RECENT,
        outcomes=[{"event": "issue_assigned", "resolution": "dispatched", "job": recent}],
    )
    counts = purge_old_data(batch_size=1000, now=NOW)
    assert counts == {
        "jobs": 2,
        "job_events": 4,
        "tool_calls": 2,
        "job_tokens": 2,
        "delivery_events": 1,
        "event_identities": 0,
        "deliveries": 1,
        # one batch of jobs: its events, tool calls, tokens, the jobs; then outcomes, deliveries
        "batches": 4 + 2,
    }
    assert set(Job.objects.values_list("pk", flat=True)) == {recent.pk, unfinished.pk}
    assert JobEvent.objects.filter(job__in=old).count() == 0
    assert JobEvent.objects.filter(job=recent).count() == 2
    assert ToolCall.objects.filter(job=recent).exists()
    assert JobToken.objects.filter(job=recent).exists()
    assert not Delivery.objects.filter(pk=old_delivery.pk).exists()
    assert Delivery.objects.filter(pk=new_delivery.pk).exists()
    assert DeliveryEvent.objects.filter(delivery=new_delivery).count() == 1


def test_deletes_go_in_bounded_batches(cw):
    for _ in range(5):
        make_delivery(cw.tenant, received_at=OLD)
    make_delivery(cw.tenant, received_at=RECENT)
    counts = purge_old_data(batch_size=2, now=NOW)
    assert counts["deliveries"] == 5
    assert counts["batches"] == 3  # 2 + 2 + 1
    assert Delivery.objects.count() == 1


def test_job_children_are_batched_too(cw):
    jobs = [old_job(cw.tenant, events=3, tool_calls=0) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        counts = purge_old_data(batch_size=2, now=NOW)
    assert (counts["jobs"], counts["job_events"], counts["job_tokens"]) == (3, 9, 3)
    # jobs in batches of 2 and 1; their events 6 → 2+2+2 and 3 → 2+1; tokens 2 and 1 → 1+1;
    # the jobs themselves 1+1
    assert counts["batches"] == 5 + 2 + 2
    assert not Job.objects.filter(pk__in=[j.pk for j in jobs]).exists()
    deletes = [q["sql"] for q in queries if q["sql"].startswith("DELETE")]
    # Every DELETE is bounded: a key range of one batch, or (Django's cascade check when the
    # jobs go, finding nothing left) the ids of one batch of jobs.
    assert deletes and all(" WHERE " in sql for sql in deletes)
    ranged = [sql for sql in deletes if '"id" >= ' in sql and '"id" <= ' in sql]
    assert len(ranged) == 5 + 2


def test_each_batch_is_its_own_transaction(cw, monkeypatch):
    from django.db import transaction

    from jobs.services import retention

    opened: list[int] = []
    real_atomic = transaction.atomic

    def counting_atomic(*args, **kwargs):
        opened.append(1)
        return real_atomic(*args, **kwargs)

    # Only the purge's own transactions are counted (Django's delete() opens inner ones).
    monkeypatch.setattr(retention, "transaction", SimpleNamespace(atomic=counting_atomic))
    for _ in range(3):
        make_delivery(cw.tenant, received_at=OLD)
    counts = purge_old_data(batch_size=1, now=NOW)
    assert counts["batches"] == 3 and len(opened) == 3


def test_idempotent(cw):
    old_job(cw.tenant)
    make_delivery(cw.tenant, received_at=OLD, outcomes=[{"resolution": "ignored"}])
    first = purge_old_data(now=NOW)
    second = purge_old_data(now=NOW)
    assert first["jobs"] == 1 and first["deliveries"] == 1
    assert second == dict.fromkeys(second, 0)


def test_days_default_to_the_setting(cw, settings):
    settings.MATE_RETENTION_DAYS = 60
    old_job(cw.tenant)
    assert purge_old_data(now=NOW)["jobs"] == 0
    assert purge_old_data(days=30, now=NOW)["jobs"] == 1


def test_a_newer_job_of_an_old_delivery_keeps_its_row(cw):
    delivery = make_delivery(cw.tenant, received_at=OLD)
    job = old_job(cw.tenant, created_at=RECENT, delivery=delivery)
    purge_old_data(now=NOW)
    job.refresh_from_db()
    assert job.delivery_id is None


@pytest.mark.parametrize("kwargs", [{"days": 0}, {"batch_size": 0}])
def test_nonsense_arguments_are_refused(kwargs):
    with pytest.raises(ValueError):
        purge_old_data(**kwargs)


def test_works_without_the_tool_service(cw, monkeypatch):
    from jobs.services import retention

    monkeypatch.setattr(retention, "_tool_call_model", lambda: None)
    old_job(cw.tenant, tool_calls=0)
    assert purge_old_data(now=NOW)["tool_calls"] == 0
    assert not Job.objects.exists()


# --- Cheap predicates: children by subqueries on job ranges, parents as bare keys -------------


def test_children_interleaved_with_other_jobs_go_with_their_job_only(cw):
    """Children of old jobs, of an unfinished old job and of a newer job share one key range;
    batches of 3 rows mix them. Only the old, final jobs' children go, and none is missed."""
    first = make_job(cw.tenant, status=JobStatus.DONE, created_at=OLD)
    unfinished = make_job(cw.tenant, status=JobStatus.RUNNING, created_at=OLD)
    newer = make_job(cw.tenant, status=JobStatus.DONE, created_at=RECENT)
    last = make_job(cw.tenant, status=JobStatus.DONE, created_at=OLD)
    jobs = [first, unfinished, newer, last]
    for i in range(4):
        for job in jobs:
            add_event(job, "log", {"line": str(i)})
            ToolCall.objects.create(job=job, tenant=cw.tenant, tool="get_issue", outcome="ok")
    for job in jobs:
        JobToken.objects.create(job=job, kind=JobToken.Kind.CLONE_TOKEN)
    counts = purge_old_data(batch_size=3, now=NOW)
    assert (counts["jobs"], counts["job_events"], counts["tool_calls"], counts["job_tokens"]) == (
        2,
        8,
        8,
        2,
    )
    assert set(Job.objects.values_list("pk", flat=True)) == {unfinished.pk, newer.pk}
    for model in (JobEvent, ToolCall, JobToken):
        assert not model.objects.filter(job__in=[first, last]).exists()
    for job in (unfinished, newer):
        assert JobEvent.objects.filter(job=job).count() == 4
        assert ToolCall.objects.filter(job=job).count() == 4
        assert JobToken.objects.filter(job=job).count() == 1


def test_nothing_newer_than_the_cutoff_is_touched(cw):
    """A job and a delivery one second on the young side of the cut-off keep every row."""
    young = NOW - timedelta(days=30) + timedelta(seconds=1)
    job = old_job(cw.tenant, events=3, tool_calls=2, created_at=young)
    delivery = make_delivery(
        cw.tenant, received_at=young, outcomes=[{"resolution": "dispatched", "job": job}]
    )
    old_job(cw.tenant)
    counts = purge_old_data(batch_size=2, now=NOW)
    assert counts["jobs"] == 1 and counts["deliveries"] == 0
    assert JobEvent.objects.filter(job=job).count() == 3
    assert ToolCall.objects.filter(job=job).count() == 2
    assert JobToken.objects.filter(job=job).count() == 1
    assert DeliveryEvent.objects.get(delivery=delivery).job_id == job.pk


def test_child_batches_name_their_jobs_by_a_subquery_not_by_a_list_of_ids(cw):
    jobs = [old_job(cw.tenant, events=3, tool_calls=2) for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        counts = purge_old_data(batch_size=2, now=NOW)
    assert counts["job_events"] == 9 and counts["tool_calls"] == 6
    tables = ('"jobs_jobevent"', '"toolservice_toolcall"', '"jobs_jobtoken"')
    child = [q["sql"] for q in queries if q["sql"].startswith(("SELECT", "DELETE"))]
    child = [sql for sql in child if sql.split(" WHERE ")[0].endswith(tables)]
    ranged = [sql for sql in child if sql.startswith("DELETE") and '"id" >= ' in sql]
    assert len(ranged) == counts["batches"] - 2  # every batch but the two of jobs
    # A batch's children: a subquery on a range of job ids, re-checking age and status...
    assert all('"job_id" IN (SELECT' in sql and "created_at" in sql for sql in ranged)
    # ...and no statement reading children carries the batch's job ids as a list.
    reads = [sql for sql in child if sql.startswith("SELECT")]
    assert reads and not [sql for sql in reads if re.search(r'"job_id" IN \(\d', sql)]
    assert not Job.objects.filter(pk__in=[j.pk for j in jobs]).exists()


def test_jobs_and_deliveries_are_loaded_as_bare_keys(cw):
    """Deleting a parent through Django loads it; its snapshot or body is not read for that."""
    job = old_job(cw.tenant)
    make_delivery(cw.tenant, received_at=OLD, outcomes=[{"resolution": "ignored", "job": job}])
    make_delivery(cw.tenant, received_at=OLD, body={"big": "x" * 1000})
    with CaptureQueriesContext(connection) as queries:
        counts = purge_old_data(now=NOW)
    assert (counts["jobs"], counts["deliveries"], counts["delivery_events"]) == (1, 2, 1)
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert not [sql for sql in reads if '"snapshot"' in sql or '"body"' in sql]


# --- Pacing ------------------------------------------------------------------------------------


class FakeClock:
    """Every reading advances the clock by one second; sleeping advances it and is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def read(self) -> float:
        self.now += 1.0
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    from jobs.services import retention

    fake = FakeClock()
    monkeypatch.setattr(retention, "_clock", fake.read)
    monkeypatch.setattr(retention, "_sleep", fake.sleep)
    return fake


def test_batches_are_paced_by_the_duty_cycle_setting(cw, settings, clock):
    settings.MATE_PURGE_DUTY_CYCLE = 0.25
    for _ in range(3):
        make_delivery(cw.tenant, received_at=OLD)
    counts = purge_old_data(batch_size=1, now=NOW)
    assert counts["batches"] == 3
    # each batch "took" one second of the fake clock: 1 s of work, then 3 s of pause
    assert clock.sleeps == pytest.approx([3.0, 3.0, 3.0])


def test_the_duty_cycle_argument_wins_over_the_setting(cw, settings, clock):
    settings.MATE_PURGE_DUTY_CYCLE = 0.25
    old_job(cw.tenant, events=2, tool_calls=0)
    counts = purge_old_data(batch_size=1, now=NOW, duty_cycle=0.5)
    # events 1 + 1, token 1, job 1
    assert counts["batches"] == 4
    assert clock.sleeps == pytest.approx([1.0] * 4)


def test_a_duty_cycle_of_one_never_pauses(cw, settings, clock):
    settings.MATE_PURGE_DUTY_CYCLE = 1
    old_job(cw.tenant)
    make_delivery(cw.tenant, received_at=OLD)
    counts = purge_old_data(batch_size=1, now=NOW)
    assert counts["jobs"] == 1 and counts["deliveries"] == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("duty_cycle", [0, -0.5, 1.5])
def test_a_nonsense_duty_cycle_is_refused(duty_cycle):
    with pytest.raises(ValueError):
        purge_old_data(duty_cycle=duty_cycle)


def _settings_with(value: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mate.settings"}
    env["MATE_PURGE_DUTY_CYCLE"] = value
    code = "from django.conf import settings; print(settings.MATE_PURGE_DUTY_CYCLE)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_the_duty_cycle_is_read_from_the_environment_and_checked_at_start_up():
    assert _settings_with("0.3").stdout.strip() == "0.3"
    refused = _settings_with("0")
    assert refused.returncode != 0
    assert "MATE_PURGE_DUTY_CYCLE" in refused.stderr
