"""Lookups and answers shared by the jobs and deliveries pages.

Objects are always looked up inside the tenant resolved by ``tenants.access.tenant_for``: a job
or delivery of another tenant, even under one's own tenant's URL, is 404.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from jobs.models import Delivery, Job
from tenants.models import Tenant

PAGE_SIZE = 50
DEFAULT_REFRESH_MS = 5000


def job_of(tenant: Tenant, job_uid: uuid.UUID) -> Job:
    return get_object_or_404(Job.objects.for_tenant(tenant), uid=job_uid)


def delivery_of(tenant: Tenant, delivery_uid: uuid.UUID) -> Delivery:
    return get_object_or_404(Delivery.objects.for_tenant(tenant), uid=delivery_uid)


def json_error(message: str, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def no_store(response):
    """Live data must not come from a cache (the refresh endpoints)."""
    response["Cache-Control"] = "no-store"
    return response


def refresh_ms() -> int:
    """How often the pages poll (SPEC §8: 5 s); tests shorten it with MATE_CONSOLE_REFRESH_MS."""
    return int(getattr(settings, "MATE_CONSOLE_REFRESH_MS", DEFAULT_REFRESH_MS))


def keyset_page(queryset, model, before: uuid.UUID | None, tenant: Tenant, size: int = PAGE_SIZE):
    """Newest first by primary key, the page after the row ``before`` (a uid of this tenant).

    Returns (rows, next cursor uid or None), or None when ``before`` is not a row of the
    tenant. Ordering by the key alone is index-friendly: the page is a range scan, whatever the
    number of rows.
    """
    if before is not None:
        anchor = (
            model.objects.for_tenant(tenant).filter(uid=before).values_list("pk", flat=True).first()
        )
        if anchor is None:
            return None
        queryset = queryset.filter(pk__lt=anchor)
    rows = list(queryset.order_by("-pk")[: size + 1])
    cursor = rows[size - 1].uid if len(rows) > size else None
    return rows[:size], cursor
