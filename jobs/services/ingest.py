"""Storing accepted deliveries and queueing their processing (SPEC §5.1).

Storage is bounded without ever refusing a valid delivery (THREATS T44, T30): a delivery of a
hook type Mate ignores (push, tag, ...) keeps its headers and at most its first 64 KiB, marked as
cut; past ``MATE_TENANT_DELIVERIES_PER_MINUTE`` a tenant's further deliveries are kept in that
compact form and recorded ``ignored`` (over the tenant's delivery rate) without being queued.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.events import SUPPORTED_HOOKS
from jobs.models import Delivery, Resolution
from mate.jsonsafe import storable
from mate.ratelimit import Budget
from tenants.models import Tenant

log = logging.getLogger(__name__)
HEAD_BYTES = 64 * 1024
OVER_RATE = "over the tenant's delivery rate"


def _tenant_rate() -> Budget:
    return Budget("tenant-deliveries", settings.MATE_TENANT_DELIVERIES_PER_MINUTE, 60)


def _compact(raw: bytes) -> dict:
    """The body fields of a compact delivery: the parsed body is kept when the raw one fits in
    HEAD_BYTES; otherwise only its first HEAD_BYTES as text, marked as cut."""
    if len(raw) <= HEAD_BYTES:
        return {}
    head = raw[:HEAD_BYTES].decode("utf-8", "ignore")  # a character cut in two is dropped
    return {"body": None, "body_cut": True, "body_head": storable(head)}


def enqueue_processing(delivery_id: int) -> None:
    """Queue processing; if the broker is down, the sweeper picks the delivery up later."""
    from jobs.tasks import process_delivery

    try:
        process_delivery.delay(delivery_id)
    except Exception as exc:  # broker unreachable: the delivery is safe in the database
        log.warning("could not queue delivery %s (%s); the sweeper will", delivery_id, exc)


def _store(tenant: Tenant, key: str, ignored: str, **fields) -> Delivery:
    """Create the delivery; queue it, or when ``ignored`` record that outcome at once."""
    from jobs.services.routing import Outcome, record

    with transaction.atomic():
        delivery = Delivery.objects.create(tenant=tenant, idempotency_key=key, **fields)
        if ignored:
            record(delivery, [(None, Outcome(Resolution.IGNORED, ignored))])
        else:
            transaction.on_commit(lambda: enqueue_processing(delivery.pk))
    return delivery


def accept_delivery(
    *,
    tenant: Tenant,
    hook: str,
    headers: dict,
    body: dict,
    idempotency_key: str | None,
    raw: bytes | None = None,
) -> tuple[Delivery, bool]:
    """Store a delivery durably; returns it and False when it is a duplicate (not re-processed).

    Duplicates are detected by a unique constraint on (tenant, key), so parallel copies of one
    delivery race safely: exactly one insert wins. A key last seen more than 7 days ago counts
    as new (GitLab's keys are UUIDs; reuse that late is a new delivery). ``body`` is the parsed
    body, ``raw`` the body as received (by default, ``body`` serialized).
    """
    key = (idempotency_key or "").strip()[:200] or f"mate:{uuid.uuid4()}"
    raw = json.dumps(body, separators=(",", ":")).encode() if raw is None else raw
    over_rate = not _tenant_rate().take(str(tenant.uid))
    fields = {"hook": hook[:100], "headers": headers, "body": body, "received_bytes": len(raw)}
    if over_rate or hook not in SUPPORTED_HOOKS:
        fields.update(_compact(raw))
    fields["ignored"] = OVER_RATE if over_rate else ""
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
