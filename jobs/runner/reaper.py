"""The every-minute reaper (SPEC §6.1, §9; THREATS T15, T26, T27).

For each job in STARTING, RUNNING or FINISHING:

* a STARTING job no worker has claimed for ``MATE_REQUEUE_AFTER_SECONDS`` (a minute) is queued
  again (the broker lost it);
* a job whose worker is gone ends ERRORED (CANCELED if a cancel was requested), its container
  removed and its tokens revoked. Gone means: the worker ran on this host and its process no
  longer exists, or the job is RUNNING and its container has vanished or exited well over a
  minute ago (a live worker notices within a second);
* a job past its wall-clock timeout or its no-activity watchdog (plus a grace period its own
  worker would have used) ends CANCELED with outcome TIMEOUT: the watchdog holds even when the
  worker that should enforce it is stuck or on a host this one cannot see.

Then every container labelled ``mate.job`` (of this installation's ``mate.scope``) whose job is
not active any more, or unknown, is removed, unless it was kept on purpose (on-prem
``keep_container``). Runtime volumes of older default images are pruned.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs.models import ACTIVE_STATUSES, Job, JobStatus, Outcome
from jobs.runner import containers, hardening, launch
from jobs.runner.containers import RunnerError

log = logging.getLogger(__name__)


def _grace() -> timedelta:
    return timedelta(seconds=settings.MATE_REAP_GRACE_SECONDS)


def worker_gone(worker: str) -> bool:
    """True when ``hostname:pid`` names a process of this host that no longer exists.

    Workers on other hosts cannot be checked from here (False); the container and overdue
    rules cover them.
    """
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by someone else
        return False
    return False


def _container_gone(job: Job, client, now: datetime) -> str | None:
    if job.status != JobStatus.RUNNING or not job.container_id or client is None:
        return None
    container = containers.get(client, job.container_id)
    if container is None:
        return "its container has disappeared"
    state = container.attrs.get("State") or {}
    if state.get("Running"):
        return None
    finished = _docker_time(state.get("FinishedAt"))
    if finished is not None and now - finished > _grace():
        return "its container exited and no worker noticed"
    return None


def _docker_time(value: object) -> datetime | None:
    """Docker's RFC 3339 times carry nanoseconds; Python takes microseconds."""
    text = str(value or "").rstrip("Z")
    head, dot, frac = text.partition(".")
    parsed = parse_datetime(f"{head}{dot}{frac[:6]}+00:00" if head else "")
    if parsed is None or parsed.year < 2000:  # "0001-01-01T00:00:00Z": never finished
        return None
    return parsed


def _overdue(job: Job, now: datetime) -> str | None:
    if job.status != JobStatus.RUNNING:
        return None
    timeout = timedelta(seconds=int(job.snapshot.get("timeout_seconds") or 3600))
    if job.started_at and now - job.started_at > timeout + _grace():
        return f"wall-clock timeout of {int(timeout.total_seconds())} s (enforced by the reaper)"
    watchdog = settings.MATE_WATCHDOG_SECONDS
    last = job.last_activity_at or job.started_at
    if last and now - last > timedelta(seconds=watchdog) + _grace():
        return f"no activity for {watchdog} s (watchdog, enforced by the reaper)"
    return None


def _take_over(job: Job, reason: str) -> bool:
    """Become the job's worker so that only this process finishes it."""
    from jobs.services import lifecycle

    me = lifecycle.worker_id()
    if job.status == JobStatus.FINISHING:
        moved = Job.objects.filter(pk=job.pk, status=job.status, worker=job.worker).update(
            worker=me
        )
        job.worker = me if moved else job.worker
        return bool(moved)
    return lifecycle.transition(
        job, JobStatus.FINISHING, reason=reason, where={"worker": job.worker}, worker=me
    )


def _end(job: Job, client, status: str, outcome: str, reason: str) -> bool:
    from jobs.services import lifecycle

    if not _take_over(job, reason):
        return False
    run = launch.Run(job, client=client, keep=launch.keeps_container(job))
    done = lifecycle.conclude(run, status, outcome, reason=reason)
    lifecycle.start_pending(job.tenant_id)
    return done


def _reap_job(job: Job, client, now: datetime) -> str | None:
    from jobs.services import lifecycle

    if job.status == JobStatus.STARTING and not job.worker:
        requeue_after = timedelta(seconds=settings.MATE_REQUEUE_AFTER_SECONDS)
        if now - (job.last_activity_at or job.created_at) > requeue_after:
            lifecycle.enqueue_run(job.pk)
            return "requeued"
        return None
    if worker_gone(job.worker):
        reason = f"its worker ({job.worker}) is gone"
    else:
        reason = _container_gone(job, client, now)
    if reason and job.cancel_requested_at is not None:  # the operator's wish still holds
        _end(job, client, JobStatus.CANCELED, Outcome.CANCELED, job.cancel_reason or "canceled")
        return "lost"
    if reason:
        _end(job, client, JobStatus.ERRORED, Outcome.FAILURE, f"job lost: {reason}")
        return "lost"
    overdue = _overdue(job, now)
    if overdue:
        _end(job, client, JobStatus.CANCELED, Outcome.TIMEOUT, overdue)
        return "timed_out"
    return None


def remove_orphans(client) -> int:
    """Remove job containers (this scope) whose job is not active; kept ones stay."""
    live = {
        str(uid)
        for uid in Job.objects.filter(status__in=ACTIVE_STATUSES).values_list("uid", flat=True)
    }
    removed = 0
    for container in containers.labelled(client, settings.MATE_CONTAINER_SCOPE):
        found = container.labels or {}
        if found.get(hardening.LABEL_JOB) in live or found.get(hardening.LABEL_KEEP) == "1":
            continue
        containers.remove(container)
        removed += 1
    return removed


def reap() -> dict[str, int]:
    """One reaper pass; returns counts by what was done."""
    counts = {"requeued": 0, "lost": 0, "timed_out": 0, "removed": 0}
    try:
        client = containers.engine()
    except RunnerError as exc:
        log.warning("reaper: %s; only database checks run", exc)
        client = None
    now = timezone.now()
    active = Job.objects.filter(status__in=ACTIVE_STATUSES).select_related("tenant")
    for job in active.order_by("id"):
        try:
            done = _reap_job(job, client, now)
        except RunnerError as exc:
            log.warning("reaper: job %s: %s", job.uid, exc)
            continue
        if done:
            counts[done] += 1
    if client is not None:
        try:
            counts["removed"] = remove_orphans(client)
            image = containers.local_image(client, settings.MATE_AGENT_IMAGE, pull=False)
            containers.prune_runtime_volumes(client, keep=containers.runtime_volume_name(image.id))
        except RunnerError as exc:
            log.warning("reaper: %s", exc)
    return counts
