"""Re-queueing accepted deliveries that were never processed (SPEC §5.1: none is ever lost)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from jobs.models import Delivery
from jobs.services.ingest import enqueue_processing

BATCH = 500


def requeue_stuck_deliveries(*, older_than: timedelta | None = None) -> int:
    """Queue every delivery still ``accepted`` after ``older_than`` (default
    ``MATE_SWEEP_GRACE_SECONDS``); returns how many."""
    if older_than is None:
        older_than = timedelta(seconds=settings.MATE_SWEEP_GRACE_SECONDS)
    stuck = (
        Delivery.objects.filter(
            state=Delivery.State.ACCEPTED, received_at__lt=timezone.now() - older_than
        )
        .order_by("received_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    count = 0
    for delivery_id in stuck:
        enqueue_processing(delivery_id)
        count += 1
    return count
