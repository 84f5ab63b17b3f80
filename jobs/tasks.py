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
    """Daily retention purge (SPEC §9); arrives with the jobs console and retention issue."""
    log.info("purge_old_data: retention purge not implemented yet")


@shared_task(name="jobs.periodic_minute")
def periodic_minute() -> None:
    """Every-minute reconciler (SPEC §9)."""
    from jobs.services.sweeper import requeue_stuck_deliveries

    requeued = requeue_stuck_deliveries()
    if requeued:
        log.info("periodic_minute: re-queued %d stuck deliveries", requeued)
