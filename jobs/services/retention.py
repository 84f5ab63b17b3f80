"""The daily retention purge (SPEC §9): jobs, their events, tool calls and tokens, delivery
outcomes and deliveries older than ``MATE_RETENTION_DAYS``, and the event-identity claims past
their ten-minute window (SPEC §5.1).

Deletes go in bounded batches: each batch selects at most ``batch_size`` primary keys in key
order and deletes that key range (re-checking the age condition), in its own transaction, so
no statement locks a table for long and a crash loses at most one batch of progress. Children
go before their parents, so deleting a parent never cascades into a large hidden delete:
delivery outcomes first (they point at deliveries and jobs), then per batch of jobs their
events, tool calls and tokens and the jobs themselves, then the deliveries. Running it twice
deletes nothing the second time.

The purge shares the database and the machine with the web: it must not starve it.

- The children of a batch of jobs are never named by a list of a thousand job ids sent again
  with every statement, nor searched for again from scratch for every batch of them: their key
  range is looked up once per batch of jobs; each child batch then reads the next keys of that
  range from where the previous one ended (keyset pagination along the primary key) and
  deletes their key range, the database re-checking by a subquery on a range of job ids
  (``job_id IN (SELECT id FROM jobs_job WHERE id BETWEEN a AND b AND <old and final>)``).
- Parents (jobs, deliveries) are deleted through Django (it clears the references that are
  ``SET_NULL``) but loaded as bare keys, not with their snapshots and bodies.
- Batches are paced: after each one the purge sleeps so that it works at most
  ``MATE_PURGE_DUTY_CYCLE`` of the time (0.25, the default: a batch that took 20 ms is
  followed by a 60 ms pause). A slow batch (a busy database) is followed by a longer pause.

Only final jobs are purged: a job that is somehow still unfinished is left to the reaper.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Min, QuerySet
from django.utils import timezone

from jobs.models import FINAL_STATUSES, Delivery, DeliveryEvent, Job, JobEvent, JobToken

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000

# Indirections for tests (a fake clock instead of real sleeping).
_clock = time.monotonic
_sleep = time.sleep


class _Pacer:
    """Keeps the purge's share of wall time near ``duty_cycle``: after a batch that took ``t``
    seconds (everything since the previous pause), it sleeps ``t * (1 - duty_cycle) /
    duty_cycle``. A duty cycle of 1 never sleeps."""

    def __init__(self, duty_cycle: float) -> None:
        self.duty_cycle = duty_cycle
        self.paused = 0.0
        self._since = _clock()

    def batch_done(self) -> None:
        if self.duty_cycle >= 1:
            return
        worked = max(0.0, _clock() - self._since)
        pause = worked * (1 - self.duty_cycle) / self.duty_cycle
        if pause > 0:
            _sleep(pause)
            self.paused += pause
        self._since = _clock()


@dataclass
class _Tally:
    counts: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    pacer: _Pacer = field(default_factory=lambda: _Pacer(1.0))

    def add(self, name: str, rows: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + rows


def _tool_call_model():
    try:
        return apps.get_model("toolservice", "ToolCall")
    except LookupError:
        return None


def delete_in_batches(queryset: QuerySet, batch_size: int, tally: _Tally, name: str) -> int:
    """Delete every row of ``queryset``, ``batch_size`` rows per transaction, by key ranges.

    Each batch starts after the last key of the previous one (everything of the queryset up to
    it is gone), so no batch walks again over the rows deleted before it."""
    deleted = 0
    after = None
    while True:
        page = queryset if after is None else queryset.filter(pk__gt=after)
        keys = list(page.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not keys:
            return deleted
        with transaction.atomic():
            # The range holds exactly these rows of the queryset: they are its first keys.
            count, _ = queryset.filter(pk__gte=keys[0], pk__lte=keys[-1]).delete()
        tally.batches += 1
        tally.add(name, len(keys))
        deleted += count
        tally.pacer.batch_done()
        if len(keys) < batch_size:
            return deleted
        after = keys[-1]


def _delete_children(
    model, old_jobs: QuerySet, job_ids: list[int], batch_size: int, tally: _Tally, name: str
) -> None:
    """Delete the rows of ``model`` (a child table with ``job_id``) that belong to one batch of
    old jobs, whose ids are ``job_ids`` (ascending).

    The children are named by subqueries on ranges of job ids (``job_id IN (SELECT id FROM
    jobs_job WHERE id BETWEEN a AND b AND <old and final>)``), never by the ids themselves.
    Their key range is looked up once, through the ``job_id`` index. Then each batch reads the
    next ``batch_size`` keys of that range with their job (a short walk along the primary key
    from where the previous batch ended), keeps those of the batch's jobs, and deletes their key
    range, the database re-checking that the rows belong to old, final jobs of the range of job
    ids seen in that batch. Asking the database for "the next keys of these jobs" instead makes
    it gather and sort every remaining child of the batch again, for every batch."""

    def of_jobs(first: int, last: int) -> QuerySet:
        return model.objects.filter(
            job_id__in=old_jobs.filter(pk__gte=first, pk__lte=last).values("pk")
        )

    bounds = of_jobs(job_ids[0], job_ids[-1]).aggregate(
        lo=Min("pk"), hi=Max("pk"), rows=Count("pk")
    )
    if not bounds["rows"]:
        return
    wanted = set(job_ids)
    span = model.objects.filter(pk__lte=bounds["hi"]).order_by("pk").values_list("pk", "job_id")
    after = None
    while True:
        ahead = span.filter(pk__gte=bounds["lo"]) if after is None else span.filter(pk__gt=after)
        page = list(ahead[:batch_size])
        if not page:
            return
        mine = [(pk, job_id) for pk, job_id in page if job_id in wanted]
        if mine:
            jobs = [job_id for _, job_id in mine]
            with transaction.atomic():
                of_jobs(min(jobs), max(jobs)).filter(
                    pk__gte=mine[0][0], pk__lte=mine[-1][0]
                ).delete()
            tally.batches += 1
            tally.add(name, len(mine))
            tally.pacer.batch_done()
        after = page[-1][0]
        if len(page) < batch_size or after >= bounds["hi"]:
            return


def _purge_jobs(cutoff: datetime, batch_size: int, tally: _Tally) -> None:
    old_jobs = Job.objects.filter(created_at__lt=cutoff, status__in=FINAL_STATUSES)
    tool_call = _tool_call_model()
    children = [(JobEvent, "job_events"), (tool_call, "tool_calls"), (JobToken, "job_tokens")]
    after = None
    while True:
        page = old_jobs if after is None else old_jobs.filter(pk__gt=after)
        ids = list(page.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        for model, name in children:
            if model is not None:
                _delete_children(model, old_jobs, ids, batch_size, tally, name)
        batch = old_jobs.filter(pk__gte=ids[0], pk__lte=ids[-1]).only("pk")
        delete_in_batches(batch, batch_size, tally, "jobs")
        if len(ids) < batch_size:
            return
        after = ids[-1]


def _purge_delivery_events(cutoff: datetime, batch_size: int, tally: _Tally) -> None:
    delete_in_batches(
        DeliveryEvent.objects.filter(delivery__received_at__lt=cutoff).only("pk"),
        batch_size,
        tally,
        "delivery_events",
    )


def _purge_event_identities(now: datetime, batch_size: int, tally: _Tally) -> None:
    """Event-identity claims (SPEC §5.1) count for minutes, not days: those past the window."""
    from jobs.routing import identity

    delete_in_batches(identity.stale(now).only("pk"), batch_size, tally, "event_identities")


def _purge_deliveries(cutoff: datetime, batch_size: int, tally: _Tally) -> None:
    delete_in_batches(
        Delivery.objects.filter(received_at__lt=cutoff).only("pk"), batch_size, tally, "deliveries"
    )


def purge_old_data(
    *,
    days: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    now: datetime | None = None,
    duty_cycle: float | None = None,
) -> dict[str, int]:
    """Delete what is older than ``days`` (default ``MATE_RETENTION_DAYS``), pausing between
    batches to work at most ``duty_cycle`` of the time (default ``MATE_PURGE_DUTY_CYCLE``);
    returns how many rows of each kind went and how many batches (transactions) it took."""
    days = settings.MATE_RETENTION_DAYS if days is None else days
    duty_cycle = settings.MATE_PURGE_DUTY_CYCLE if duty_cycle is None else duty_cycle
    if days < 1 or batch_size < 1:
        raise ValueError("days and batch_size must be at least 1")
    if not 0 < duty_cycle <= 1:
        raise ValueError("duty_cycle must be more than 0 and at most 1")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    started = _clock()
    tally = _Tally(
        counts=dict.fromkeys(
            [
                "jobs",
                "job_events",
                "tool_calls",
                "job_tokens",
                "delivery_events",
                "event_identities",
                "deliveries",
            ],
            0,
        ),
        pacer=_Pacer(duty_cycle),
    )
    # Outcomes first: they point at old jobs, which then go without Django setting anything
    # to NULL on rows that would be deleted next anyway.
    _purge_delivery_events(cutoff, batch_size, tally)
    _purge_jobs(cutoff, batch_size, tally)
    _purge_event_identities(now, batch_size, tally)  # before deliveries: no hidden cascade
    _purge_deliveries(cutoff, batch_size, tally)
    result = {**tally.counts, "batches": tally.batches}
    log.info(
        "retention purge (older than %s days): %s in %.1f s, %.1f s of it paused (duty cycle %s)",
        days,
        result,
        _clock() - started,
        tally.pacer.paused,
        duty_cycle,
    )
    return result
