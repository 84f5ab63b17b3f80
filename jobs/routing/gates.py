"""Database-backed routing rules (SPEC §5.3 steps 6-8): loop breaker, cooldown, slots."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from jobs.events import Event
from jobs.models import ACTIVE_STATUSES, Job, JobStatus
from tenants.models import Tenant


def loop_key(event: Event) -> str:
    """The issue or MR an event is about (pipelines count against their MR when known)."""
    if event.object_kind == "pipeline":
        if event.object_iid is not None:
            return f"merge_request/{event.object_iid}"
        return f"pipeline/{event.pipeline_id}"
    return f"{event.object_kind}/{event.object_iid}"


def loop_refusal(tenant: Tenant, event: Event) -> str | None:
    cap = settings.MATE_MAX_JOBS_PER_OBJECT_PER_HOUR
    recent = Job.objects.for_tenant(tenant).filter(
        project_id=event.project_id,
        loop_key=loop_key(event),
        created_at__gte=timezone.now() - timedelta(hours=1),
    )
    if recent.count() >= cap:
        return (
            f"loop breaker: {cap} jobs on {loop_key(event)} in the last hour "
            "(MATE_MAX_JOBS_PER_OBJECT_PER_HOUR)"
        )
    return None


def cooldown_until(tenant: Tenant, project_id: int, cooldown: timedelta) -> datetime | None:
    """When the project's cooldown ends, if it has not ended yet."""
    if cooldown <= timedelta(0):
        return None
    last = (
        Job.objects.for_tenant(tenant)
        .filter(project_id=project_id)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    if last is None or last + cooldown <= timezone.now():
        return None
    return last + cooldown


def slot_status(tenant: Tenant, concurrency: int) -> str | None:
    """STARTING when a slot is free, PENDING when queued, None when the queue is full."""
    jobs = Job.objects.for_tenant(tenant)
    if jobs.filter(status__in=ACTIVE_STATUSES).count() < min(concurrency, tenant.mates):
        return JobStatus.STARTING
    if jobs.filter(status=JobStatus.PENDING).count() >= settings.MATE_MAX_PENDING_PER_TENANT:
        return None
    return JobStatus.PENDING
