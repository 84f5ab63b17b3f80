"""Storing accepted deliveries and queueing their processing (SPEC §5.1)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import Delivery
from tenants.models import Tenant

log = logging.getLogger(__name__)


def enqueue_processing(delivery_id: int) -> None:
    """Queue processing; if the broker is down, the sweeper picks the delivery up later."""
    from jobs.tasks import process_delivery

    try:
        process_delivery.delay(delivery_id)
    except Exception as exc:  # broker unreachable: the delivery is safe in the database
        log.warning("could not queue delivery %s (%s); the sweeper will", delivery_id, exc)


def _store(tenant: Tenant, key: str, **fields) -> Delivery:
    with transaction.atomic():
        delivery = Delivery.objects.create(tenant=tenant, idempotency_key=key, **fields)
        transaction.on_commit(lambda: enqueue_processing(delivery.pk))
    return delivery


def accept_delivery(
    *, tenant: Tenant, hook: str, headers: dict, body: dict, idempotency_key: str | None
) -> tuple[Delivery, bool]:
    """Store a delivery durably; returns it and False when it is a duplicate (not re-processed).

    Duplicates are detected by a unique constraint on (tenant, key), so parallel copies of one
    delivery race safely: exactly one insert wins. A key last seen more than 7 days ago counts
    as new (GitLab's keys are UUIDs; reuse that late is a new delivery).
    """
    key = (idempotency_key or "").strip()[:200] or f"mate:{uuid.uuid4()}"
    fields = {"hook": hook[:100], "headers": headers, "body": body}
    try:
        delivery, created = _store(tenant, key, **fields), True
    except IntegrityError:
        existing = Delivery.objects.for_tenant(tenant).get(idempotency_key=key)
        if existing.received_at >= timezone.now() - timedelta(days=settings.MATE_DEDUPE_DAYS):
            return existing, False
        delivery, created = _store(tenant, f"{key}#{uuid.uuid4().hex[:8]}", **fields), True
    if tenant.first_delivery_at is None:
        Tenant.objects.filter(pk=tenant.pk, first_delivery_at__isnull=True).update(
            first_delivery_at=delivery.received_at
        )
    return delivery, created
