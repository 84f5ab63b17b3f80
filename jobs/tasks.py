"""Thin Celery tasks (DESIGN §4): ids as arguments, idempotent, the database row is the truth."""

from __future__ import annotations

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(name="jobs.purge_old_data")
def purge_old_data() -> None:
    """Daily retention purge (SPEC §9). The data it purges arrives with the jobs issue."""
    log.info("purge_old_data: nothing to purge yet")


@shared_task(name="jobs.periodic_minute")
def periodic_minute() -> None:
    """Every-minute reconciler (SPEC §9); filled in as jobs, keys and deliveries exist."""
    log.debug("periodic_minute: no periodic work registered yet")
