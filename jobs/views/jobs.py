"""Jobs list (with its refresh endpoint), job detail and cancel (SPEC §6, §8)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from jobs.forms import JobFilterForm, RefreshForm
from jobs.models import Job, JobEvent
from jobs.services import lifecycle
from jobs.views import present
from jobs.views.common import (
    PAGE_SIZE,
    job_of,
    json_error,
    keyset_page,
    no_store,
    refresh_ms,
)
from tenants.access import tenant_for
from tenants.models import Membership, Role, Tenant
from tenants.views.common import tenant_page

INITIAL_EVENTS = 500


def _jobs(tenant: Tenant, form: JobFilterForm):
    return Job.objects.for_tenant(tenant).filter(**form.filters())


def _list_page(request, tenant: Tenant, membership: Membership, form, status=200, page=None):
    rows, cursor = page or ([], None)
    now = timezone.now()
    first_page = status == 200 and not form.cleaned_data.get("before")
    context = {
        "form": form,
        "rows": [present.job_row(job, tenant, now) for job in rows],
        "next_cursor": cursor,
        "filter_qs": form.query_string() if form.is_valid() else "",
        "first_page": first_page,
        "refresh_ms": refresh_ms(),
    }
    return tenant_page(request, "jobs/list.html", tenant, membership, "jobs", context, status)


@login_required
@require_GET
def job_list(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    form = JobFilterForm(request.GET)
    if not form.is_valid():
        return _list_page(request, tenant_obj, membership, form, status=400)
    page = keyset_page(_jobs(tenant_obj, form), Job, form.cleaned_data["before"], tenant_obj)
    if page is None:
        form.add_error("before", "This page cursor is not a job of this tenant; start over.")
        return _list_page(request, tenant_obj, membership, form, status=400)
    return _list_page(request, tenant_obj, membership, form, page=page)


@login_required
@require_GET
def job_rows(request: HttpRequest, tenant: uuid.UUID) -> JsonResponse:
    """Fresh rows for the unfinished jobs ``ids`` (others are never refetched), and, on the first
    page, jobs newer than ``top`` that match the filters. Ids that are not jobs of this tenant
    are left out of the answer, exactly like ids that do not exist."""
    tenant_obj, _membership = tenant_for(request.user, tenant)
    form = RefreshForm(request.GET)
    if not form.is_valid():
        return json_error(form.problems())
    ids, top = form.cleaned_data["ids"], form.cleaned_data["top"]
    now = timezone.now()
    found = Job.objects.for_tenant(tenant_obj).filter(uid__in=ids) if ids else []
    rows = {str(job.uid): present.job_row(job, tenant_obj, now) for job in found}
    newer: list[dict] = []
    if top:
        newer_jobs = _jobs(tenant_obj, form)
        if top != "none":
            anchor = Job.objects.for_tenant(tenant_obj).filter(uid=top).values("pk")[:1]
            newer_jobs = newer_jobs.filter(pk__gt=anchor)
        newest = newer_jobs.order_by("-pk")[:PAGE_SIZE]
        newer = [present.job_row(job, tenant_obj, now) for job in newest]
    answer = {"rows": rows, "missing": [str(i) for i in ids if str(i) not in rows], "new": newer}
    return no_store(JsonResponse(answer))


def _snapshot_view(job: Job) -> dict:
    snapshot = job.snapshot or {}
    config = snapshot.get("config") or {}
    trigger = snapshot.get("trigger") or {}
    agent = snapshot.get("agent") or {}
    return {
        "agent": agent,
        "trigger": trigger,
        "authorities": snapshot.get("authorities") or [],
        "config_ref": config.get("ref"),
        "config_commit": config.get("commit"),
        "config_file": config.get("file"),
        "timeout_seconds": snapshot.get("timeout_seconds"),
    }


@login_required
@require_GET
def job_detail(request: HttpRequest, tenant: uuid.UUID, job: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    job_obj = job_of(tenant_obj, job)
    events = list(JobEvent.objects.filter(job=job_obj).order_by("-pk")[:INITIAL_EVENTS])
    older = 0
    if len(events) == INITIAL_EVENTS:
        older = JobEvent.objects.filter(job=job_obj, pk__lt=events[-1].pk).count()
    context = {
        "job": job_obj,
        "state": present.job_state(job_obj, tenant_obj),
        "events": [present.event_view(e) for e in events],
        "older_events": older,
        "cursor": events[0].pk if events else 0,
        "snapshot": _snapshot_view(job_obj),
        "gitlab_url": present.gitlab_object_url(tenant_obj, job_obj),
        "object_label": present.object_label(job_obj),
        "refresh_ms": refresh_ms(),
    }
    return tenant_page(request, "jobs/detail.html", tenant_obj, membership, "jobs", context)


@login_required
@require_POST
def job_cancel(request: HttpRequest, tenant: uuid.UUID, job: uuid.UUID) -> HttpResponse:
    """Operators cancel a job in any non-final status (SPEC §6.7)."""
    tenant_obj, _membership = tenant_for(request.user, tenant, Role.OPERATOR)
    job_obj = job_of(tenant_obj, job)
    if job_obj.is_final:
        messages.warning(request, f"The job had already ended ({job_obj.status}); nothing to do.")
    elif lifecycle.cancel_job(job_obj, f"canceled by {request.user.get_username()}"):
        messages.success(request, "Cancel requested: the job stops within seconds.")
    else:
        messages.warning(request, "The job ended before it could be canceled.")
    return redirect("console:job", tenant=tenant_obj.uid, job=job_obj.uid)
