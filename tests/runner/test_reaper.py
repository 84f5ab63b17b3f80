"""The reaper (SPEC §6.1, §9; THREATS T15, T26, T27) on a real engine."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job, JobEvent, JobStatus, JobToken, Outcome
from jobs.runner import hardening, launch
from jobs.services import lifecycle
from tests.runner.conftest import SCOPE
from tests.runner.helpers import events, transitions

pytestmark = [pytest.mark.docker, pytest.mark.django_db(transaction=True)]


def _dead_worker() -> str:
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{socket.gethostname()}:{child.pid}"


def _running(world, worker: str, script: str = "sleep 60", **fields):
    """A job with a live container, marked RUNNING on ``worker`` (as if a worker launched it)."""
    job = world.job(script)
    job.refresh_from_db()
    run = launch.Run(job)
    launch.launch(run)
    Job.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        worker=worker,
        started_at=timezone.now(),
        last_activity_at=timezone.now(),
        **fields,
    )
    job.refresh_from_db()
    return job, run.container


def _exists(client, container) -> bool:
    return bool(client.containers.list(all=True, filters={"id": container.id}))


def test_a_job_whose_worker_died_ends_errored_and_its_container_is_removed(
    runner_world, docker_client
):
    job, container = _running(runner_world, _dead_worker())
    counts = lifecycle.reap()
    job.refresh_from_db()
    assert counts["lost"] == 1
    assert (job.status, job.outcome) == (JobStatus.ERRORED, Outcome.FAILURE)
    assert "worker" in events(job, JobEvent.Kind.FINAL)[0]["reason"]
    assert transitions(job)[-2:] == [("RUNNING", "FINISHING"), ("FINISHING", "ERRORED")]
    assert not _exists(docker_client, container)
    tokens = JobToken.objects.filter(job=job)
    assert tokens and all(t.revoked_at for t in tokens)  # T26 after a worker crash


def test_a_job_whose_container_vanished_ends_errored(runner_world, docker_client):
    job, container = _running(runner_world, "another-host:4242")
    container.remove(force=True)
    lifecycle.reap()
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.ERRORED, Outcome.FAILURE)
    assert "disappeared" in events(job, JobEvent.Kind.FINAL)[0]["reason"]


def test_overdue_jobs_of_unreachable_workers_are_timed_out(runner_world, docker_client, settings):
    settings.MATE_REAP_GRACE_SECONDS = 0
    long_ago = timezone.now() - timedelta(seconds=settings.MATE_WATCHDOG_SECONDS + 5)
    job, container = _running(runner_world, "another-host:4242")
    Job.objects.filter(pk=job.pk).update(last_activity_at=long_ago)
    assert lifecycle.reap()["timed_out"] == 1
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.TIMEOUT)
    assert "watchdog" in events(job, JobEvent.Kind.FINAL)[0]["reason"]
    assert not _exists(docker_client, container)


def test_a_healthy_running_job_is_left_alone(runner_world, docker_client):
    job, container = _running(runner_world, lifecycle.worker_id())
    try:
        assert lifecycle.reap() == {"requeued": 0, "lost": 0, "timed_out": 0, "removed": 0}
        assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
        assert _exists(docker_client, container)
    finally:
        container.remove(force=True)
        lifecycle._revoke(job)


def test_leftover_labelled_containers_without_a_live_job_are_removed(runner_world, docker_client):
    done = runner_world.job(status=JobStatus.DONE)

    def labelled(uid, scope=SCOPE):
        return docker_client.containers.create(
            "mate-runner-test:latest",
            entrypoint=["sleep", "60"],
            labels=hardening.labels(job_uid=uid, tenant_uid="t", scope=scope),
        )

    of_done_job = labelled(done.uid)
    of_unknown_job = labelled("00000000-0000-0000-0000-000000000000")
    other_installation = labelled(done.uid, scope=f"{SCOPE}-other")
    try:
        assert lifecycle.reap()["removed"] == 2
        assert not _exists(docker_client, of_done_job)
        assert not _exists(docker_client, of_unknown_job)
        assert _exists(docker_client, other_installation)
    finally:
        for container in (of_done_job, of_unknown_job, other_installation):
            if _exists(docker_client, container):
                container.remove(force=True)


def test_an_unclaimed_starting_job_is_queued_again(runner_world, monkeypatch):
    queued = []
    monkeypatch.setattr(lifecycle, "enqueue_run", queued.append)
    stale = runner_world.job()
    fresh = runner_world.job()
    Job.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert lifecycle.reap()["requeued"] == 1
    assert queued == [stale.pk]
    assert Job.objects.get(pk=fresh.pk).status == JobStatus.STARTING


def test_the_requeue_delay_comes_from_the_setting(runner_world, monkeypatch, settings):
    queued = []
    monkeypatch.setattr(lifecycle, "enqueue_run", queued.append)
    job = runner_world.job()
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=20))
    settings.MATE_REQUEUE_AFTER_SECONDS = 60
    assert lifecycle.reap()["requeued"] == 0
    settings.MATE_REQUEUE_AFTER_SECONDS = 10
    assert lifecycle.reap()["requeued"] == 1
    assert queued == [job.pk]


def test_a_canceled_job_whose_worker_died_still_ends_canceled(runner_world, docker_client):
    job, container = _running(runner_world, _dead_worker())
    lifecycle.cancel_job(job, "operator gave up")
    assert lifecycle.reap()["lost"] == 1
    job.refresh_from_db()
    assert (job.status, job.outcome) == (JobStatus.CANCELED, Outcome.CANCELED)
    assert not _exists(docker_client, container)
