"""The daily retention purge (SPEC §9): jobs, their events, tool calls and tokens, delivery
outcomes and deliveries older than ``MATE_RETENTION_DAYS``.

Deletes go in bounded batches: each batch selects at most ``batch_size`` primary keys in key
order and deletes that key range (re-checking the age condition), in its own transaction, so
no statement locks a table for long and a crash loses at most one batch of progress. Children
go before their parents, so deleting a parent never cascades into a large hidden delete.
Running it twice deletes nothing the second time.

Only final jobs are purged: a job that is somehow still unfinished is left to the reaper.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs.models import FINAL_STATUSES, Delivery, DeliveryEvent, Job, JobEvent, JobToken

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    def add(self, name: str, rows: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + rows


def _tool_call_model():
    try:
        return apps.get_model("toolservice", "ToolCall")
    except LookupError:
        return None


def delete_in_batches(queryset: QuerySet, batch_size: int, tally: _Tally, name: str) -> int:
    """Delete every row of ``queryset``, ``batch_size`` rows per transaction, by key ranges."""
    deleted = 0
    while True:
        keys = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        with transaction.atomic():
            # The range holds exactly these rows of the queryset: they are its first keys.
            count, _ = queryset.filter(pk__gte=keys[0], pk__lte=keys[-1]).delete()
        tally.batches += 1
        tally.add(name, len(keys))
        deleted += count
        if len(keys) < batch_size:
            return deleted


def _purge_jobs(cutoff: datetime, batch_size: int, tally: _Tally) -> None:
    old_jobs = Job.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)
    tool_call = _tool_call_model()
    while True:
        ids = list(old_jobs.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        delete_in_batches(JobEvent.objects.filter(job_id__in=ids), batch_size, tally, "job_events")
        if tool_call is not None:
            delete_in_batches(
                tool_call.objects.filter(job_id__in=ids), batch_size, tally, "tool_calls"
            )
        delete_in_batches(JobToken.objects.filter(job_id__in=ids), batch_size, tally, "job_tokens")
        delete_in_batches(
            old_jobs.filter(pk__gte=ids[0], pk__lte=ids[-1]), batch_size, tally, "jobs"
        )
        if len(ids) < batch_size:
            return


def _purge_deliveries(cutoff: datetime, batch_size: int, tally: _Tally) -> None:
    delete_in_batches(
        DeliveryEvent.objects.filter(delivery__received_at__lt=cutoff),
        batch_size,
        tally,
        "delivery_events",
    )
    delete_in_batches(
        Delivery.objects.filter(received_at__lt=cutoff), batch_size, tally, "deliveries"
    )


def purge_old_data(
    *,
    days: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
) -> dict[str, int]:
    """Delete what is older than ``days`` (default ``MATE_RETENTION_DAYS``); returns how many
    rows of each kind went and how many batches (transactions) it took."""
    days = settings.MATE_RETENTION_DAYS if days is None else days
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch_size must be at least 1")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    tally = _Tally(
        counts=dict.fromkeys(
            ["jobs", "job_events", "tool_calls", "job_tokens", "delivery_events", "deliveries"], 0
        )
    )
    _purge_jobs(cutoff, batch_size, tally)
    _purge_deliveries(cutoff, batch_size, tally)
    result = {**tally.counts, "batches": tally.batches}
    log.info("retention purge (older than %s days): %s", days, result)
    return result
