"""The job lifecycle (SPEC §6.1, §6.7, §9): one state machine, one status event per transition.

PENDING → STARTING → RUNNING → FINISHING → DONE | CANCELED | ERRORED (PENDING may also go straight
to CANCELED). Every transition is a conditional UPDATE on the expected status, so two processes can
never both move a job: whoever moves a job into FINISHING owns its finish (stop and remove the
container, revoke its tokens, write the final status and event).

``run_job`` is what the ``jobs.run_job`` task calls; it claims a STARTING job by writing its
worker (``hostname:pid``), so a redelivered task, or a second one, does nothing.
"""

from __future__ import annotations

import logging
import os
import socket

from django.db import transaction
from django.utils import timezone

from jobs import timeline
from jobs.models import ACTIVE_STATUSES, Job, JobEvent, JobStatus, Outcome
from jobs.runner import containers, launch, supervise
from jobs.runner.containers import RunnerError
from jobs.runner.supervise import Verdict
from tenants.models import Tenant
from tenants.services.configs import validated as validated_config

log = logging.getLogger(__name__)

ALLOWED = {
    JobStatus.PENDING: {JobStatus.STARTING, JobStatus.CANCELED},
    JobStatus.STARTING: {JobStatus.RUNNING, JobStatus.FINISHING},
    JobStatus.RUNNING: {JobStatus.FINISHING},
    JobStatus.FINISHING: {JobStatus.DONE, JobStatus.CANCELED, JobStatus.ERRORED},
}


class TransitionError(ValueError):
    """A transition the state machine does not have (a programming error)."""


def worker_id() -> str:
    """Who runs a job: ``hostname:pid`` of this process (the reaper checks it is alive)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def transition(job: Job, to: str, *, reason: str, where: dict | None = None, **fields) -> bool:
    """Move ``job`` from its current status to ``to`` if nobody moved it meanwhile.

    ``where`` adds conditions (e.g. the expected worker); ``fields`` are written in the same
    UPDATE. On success a ``status`` event is appended and ``job`` updated; on a lost race ``job``
    is reloaded and False returned.
    """
    frm = job.status
    if to not in ALLOWED.get(frm, set()):
        raise TransitionError(f"a job cannot go from {frm} to {to}")
    updated = Job.objects.filter(pk=job.pk, status=frm, **(where or {})).update(status=to, **fields)
    if not updated:
        job.refresh_from_db()
        return False
    job.status = to
    for name, value in fields.items():
        setattr(job, name, value)
    timeline.append(job, JobEvent.Kind.STATUS, {"from": frm, "to": to, "reason": reason})
    return True


def enqueue_run(job_id: int) -> None:
    """Queue ``jobs.run_job``; a broker failure is logged and left to the reconciler."""
    from jobs.tasks import run_job

    try:
        run_job.delay(job_id)
    except Exception as exc:
        log.warning("could not queue run_job for job %s (%s); the reaper re-queues it", job_id, exc)


def _enqueue_on_commit(job_id: int) -> None:
    transaction.on_commit(lambda: enqueue_run(job_id))


# --- finishing --------------------------------------------------------------------------


def _dispose(run: launch.Run, sup=None, reader=None) -> int | None:
    """Stop the container (SIGTERM, SIGKILL after 10 s), keep its last lines, remove it unless
    kept; returns its exit code when known. Docker trouble becomes a warning event."""
    container = run.container
    if container is None and (run.job.container_id or run.job.container_name):
        try:
            run.client = run.client or containers.engine()
            container = containers.get(run.client, run.job.container_id or run.job.container_name)
        except RunnerError as exc:
            timeline.append(run.job, JobEvent.Kind.WARNING, {"message": str(exc)})
    if container is None:
        if reader is not None:
            reader.stopping.set()
        return None
    code = None
    try:
        containers.stop(container)
        if sup is not None and reader is not None:
            supervise.finish_logs(sup, reader)
        code = containers.state(container)[1]
        if not run.keep:
            containers.remove(container)
    except RunnerError as exc:
        timeline.append(run.job, JobEvent.Kind.WARNING, {"message": str(exc)})
    finally:
        if reader is not None:
            reader.stopping.set()
    return code


def _revoke(job: Job) -> None:
    try:
        launch.credentials().revoke_job_tokens(job)
    except Exception as exc:  # the reconciler (revoke_due_tokens) retries every minute
        log.warning("job %s: token revocation failed (%s)", job.uid, type(exc).__name__)


def conclude(
    run: launch.Run,
    status: str,
    outcome: str,
    *,
    reason: str,
    exit_code: int | None = None,
    sup=None,
    reader=None,
) -> bool:
    """FINISHING (if not already) → dispose of the container → revoke tokens → final status
    with ``outcome`` and a ``final`` event. False when another process owns the finish."""
    job = run.job
    if job.status != JobStatus.FINISHING and not transition(
        job, JobStatus.FINISHING, reason=reason
    ):
        if reader is not None:
            reader.stopping.set()
        return False
    code = _dispose(run, sup, reader)
    if exit_code is None:
        exit_code = code
    _revoke(job)
    moved = transition(
        job,
        status,
        reason=reason,
        outcome=outcome,
        exit_code=exit_code,
        finished_at=timezone.now(),
    )
    if moved:
        data = {"outcome": outcome, "exit_code": exit_code, "reason": reason}
        timeline.append(job, JobEvent.Kind.FINAL, data, secrets=run.secrets)
    return moved


# --- running ----------------------------------------------------------------------------


def _claim(job_id: int) -> Job | None:
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.STARTING, worker="").update(
        worker=worker_id(), last_activity_at=timezone.now()
    )
    if not claimed:
        return None
    return Job.objects.select_related("tenant").get(pk=job_id)


def run_job(job_id: int) -> None:
    """Run one STARTING job to its final status; any other job (or a second call) is a no-op."""
    job = _claim(job_id)
    if job is None:
        log.info("run_job: job %s is not an unclaimed STARTING job; nothing to do", job_id)
        return
    run = launch.Run(job)
    try:
        _run(run)
    except Exception:
        log.exception("job %s: the runner failed", job.uid)
        job.refresh_from_db()
        if not job.is_final:
            conclude(run, JobStatus.ERRORED, Outcome.FAILURE, reason="internal error in the runner")
    finally:
        start_pending(job.tenant_id)


def _timeout_seconds(job: Job) -> int:
    agent = job.snapshot.get("agent") or {}
    return int(job.snapshot.get("timeout_seconds") or agent.get("timeout_seconds") or 3600)


def _run(run: launch.Run) -> None:
    job = run.job
    if job.cancel_requested_at is not None:
        conclude(run, JobStatus.CANCELED, Outcome.CANCELED, reason=job.cancel_reason or "canceled")
        return
    try:
        launch.launch(run)
    except (RunnerError, launch.credentials().CredentialError) as exc:
        message = f"dispatch failed: {exc}"
        timeline.append(job, JobEvent.Kind.WARNING, {"message": message}, secrets=run.secrets)
        conclude(run, JobStatus.ERRORED, Outcome.FAILURE, reason=message)
        return
    if not transition(job, JobStatus.RUNNING, reason="agent started", started_at=timezone.now()):
        return  # moved on by a cancel or the reaper: they finish it
    _supervise(run)


def _supervise(run: launch.Run) -> None:
    job = run.job
    base = run.base_secrets

    def refresh(j: Job):
        values = launch.refresh_key(j)
        return None if values is None else base + values

    sup = supervise.Supervision(
        job=job,
        container=run.container,
        client=run.client,
        secrets=run.secrets,
        timeout_seconds=_timeout_seconds(job),
        refresh=refresh,
    )
    result, reader = supervise.supervise(sup)
    run.secrets = sup.secrets
    if result.verdict is Verdict.TAKEN_OVER:
        reader.stopping.set()
        return
    job.refresh_from_db()
    status, outcome, reason = _ending(result)
    conclude(
        run, status, outcome, reason=reason, exit_code=result.exit_code, sup=sup, reader=reader
    )


def _ending(result: supervise.Result) -> tuple[str, str, str]:
    if result.verdict is Verdict.EXITED:
        outcome = Outcome.SUCCESS if result.exit_code == 0 else Outcome.FAILURE
        return JobStatus.DONE, outcome, f"agent exited with code {result.exit_code}"
    if result.verdict in (Verdict.TIMEOUT, Verdict.WATCHDOG):
        return JobStatus.CANCELED, Outcome.TIMEOUT, result.reason
    if result.verdict is Verdict.CANCELED:
        return JobStatus.CANCELED, Outcome.CANCELED, result.reason
    return JobStatus.ERRORED, Outcome.FAILURE, result.reason


# --- cancel and slots -------------------------------------------------------------------


def cancel_job(job: Job, reason: str) -> bool:
    """Cancel a job in any non-final status (operators, staff, suspension, limits).

    PENDING ends CANCELED at once. An active job gets a cancel request that its worker acts on
    within a second (FINISHING, SIGTERM, SIGKILL after 10 s, CANCELED); a STARTING job no worker
    has claimed yet is finished here. False when the job was already final.
    """
    reason = (reason or "canceled").strip()[:200]
    now = timezone.now()
    job.refresh_from_db()
    if job.is_final:
        return False
    if job.status == JobStatus.PENDING:
        extra = {"cancel_requested_at": now, "cancel_reason": reason}
        if transition(
            job,
            JobStatus.CANCELED,
            reason=reason,
            outcome=Outcome.CANCELED,
            finished_at=now,
            **extra,
        ):
            data = {"outcome": Outcome.CANCELED, "exit_code": None, "reason": reason}
            timeline.append(job, JobEvent.Kind.FINAL, data)
            return True
        return cancel_job(job, reason)  # it started meanwhile
    Job.objects.filter(pk=job.pk, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now, cancel_reason=reason
    )
    unclaimed = Job.objects.filter(pk=job.pk, status=JobStatus.STARTING, worker="").update(
        worker=worker_id()
    )
    if unclaimed:
        job.refresh_from_db()
        conclude(launch.Run(job), JobStatus.CANCELED, Outcome.CANCELED, reason=reason)
        start_pending(job.tenant_id)
    return True


def slot_cap(tenant: Tenant) -> int:
    """Concurrent jobs the tenant may run: its mates, narrowed by ``policies.concurrency``."""
    cap = tenant.mates
    config = tenant.current_config()
    if config is not None:
        result = validated_config(config)
        if result.ok and result.config is not None:
            cap = min(cap, result.config.policies.concurrency)
    return cap


def start_pending(tenant_id: int) -> int:
    """Start the tenant's oldest PENDING jobs while slots are free; returns how many started."""
    started: list[int] = []
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().filter(pk=tenant_id).first()
        if tenant is None or tenant.suspended:
            return 0
        jobs = Job.objects.for_tenant(tenant)
        free = slot_cap(tenant) - jobs.filter(status__in=ACTIVE_STATUSES).count()
        if free <= 0:
            return 0
        for job in jobs.filter(status=JobStatus.PENDING).order_by("created_at", "id")[:free]:
            if transition(job, JobStatus.STARTING, reason="a slot freed"):
                started.append(job.pk)
                _enqueue_on_commit(job.pk)
    return len(started)


def start_pending_all() -> int:
    """``start_pending`` for every tenant with PENDING jobs (the every-minute reconciler)."""
    tenant_ids = (
        Job.objects.filter(status=JobStatus.PENDING)
        .values_list("tenant_id", flat=True)
        .distinct()
        .order_by()
    )
    return sum(start_pending(tenant_id) for tenant_id in list(tenant_ids))


def reap() -> dict[str, int]:
    """The every-minute reaper (SPEC §9); see ``jobs.runner.reaper``."""
    from jobs.runner import reaper

    return reaper.reap()
