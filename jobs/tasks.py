"""Thin Celery tasks (DESIGN §4): ids as arguments, idempotent, the database row is the truth."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="jobs.process_delivery", acks_late=True)
def process_delivery(delivery_id: int) -> None:
    from jobs.services.routing import process_delivery as process

    process(delivery_id)


@shared_task(name="jobs.purge_old_data")
def purge_old_data() -> None:
    """Daily retention purge (SPEC §9): bounded batches, each in its own transaction."""
    from jobs.services.retention import purge_old_data as purge

    log.info("purge_old_data: %s", purge())


@shared_task(name="jobs.run_job", acks_late=True)
def run_job(job_id: int) -> None:
    """Run one STARTING job to its end (queue ``jobs``); any other job is left alone."""
    from jobs.services.lifecycle import run_job as run

    run(job_id)


def _step(name: str, call) -> None:
    """One reconciler step; a failure is logged and never stops the others."""
    try:
        result = call()
    except Exception:
        log.exception("periodic_minute: %s failed", name)
        return
    if result:
        log.info("periodic_minute: %s: %s", name, result)


@shared_task(name="jobs.periodic_minute")
def periodic_minute() -> None:
    """Every-minute reconciler (SPEC §9): stuck deliveries, due token revocations, the reaper
    (lost workers, timeouts, watchdog, leftover containers) and pending jobs with free slots."""
    from jobs import credentials
    from jobs.services import lifecycle
    from jobs.services.sweeper import requeue_stuck_deliveries

    _step("re-queued stuck deliveries", requeue_stuck_deliveries)
    _step("revoked due tokens", credentials.revoke_due_tokens)
    _step("reaped", lambda: {k: v for k, v in lifecycle.reap().items() if v})
    _step("started pending jobs", lifecycle.start_pending_all)
