"""The delivery log (SPEC §5.4): list with filters, one delivery, and "explain"."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from jobs.forms import KNOWN_HOOKS, DeliveryFilterForm
from jobs.models import Delivery, DeliveryEvent
from jobs.services.explain import explain_delivery
from jobs.views import present
from jobs.views.common import delivery_of, keyset_page
from mate.ratelimit import Budget, pair
from tenants.access import tenant_for
from tenants.models import Membership, Role, Tenant
from tenants.views.common import tenant_page

MAX_BODY_CHARS = 1024 * 1024
EXPLAINS_PER_MINUTE = 10  # per user and tenant: each explain may read GitLab with the bot token
# Ingest drops credential headers; these are never shown even if a row still had one.
HIDDEN_HEADERS = frozenset({"x-gitlab-token", "authorization", "cookie"})


def _outcomes():
    return Prefetch(
        "outcomes",
        queryset=DeliveryEvent.objects.select_related("job").order_by("position"),
    )


def _deliveries(tenant: Tenant, form: DeliveryFilterForm):
    data = form.cleaned_data
    queryset = Delivery.objects.for_tenant(tenant).defer("body", "body_head", "headers")
    if data["hook"]:
        queryset = queryset.filter(hook=data["hook"])
    if data["date"]:
        start = datetime.combine(data["date"], time.min, tzinfo=timezone.get_current_timezone())
        queryset = queryset.filter(received_at__gte=start, received_at__lt=start + timedelta(1))
    if data["resolution"]:
        matching = DeliveryEvent.objects.filter(
            delivery=OuterRef("pk"), resolution=data["resolution"]
        )
        queryset = queryset.filter(Exists(matching))
    return queryset.prefetch_related(_outcomes())


def _list_page(request, tenant: Tenant, membership: Membership, form, status=200, page=None):
    rows, cursor = page or ([], None)
    context = {
        "form": form,
        "deliveries": rows,
        "next_cursor": cursor,
        "filter_qs": form.query_string() if form.is_valid() else "",
        "known_hooks": KNOWN_HOOKS,
        "retention_days": settings.MATE_RETENTION_DAYS,
    }
    return tenant_page(
        request, "jobs/deliveries.html", tenant, membership, "deliveries", context, status
    )


@login_required
@require_GET
def delivery_list(request: HttpRequest, tenant: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    form = DeliveryFilterForm(request.GET)
    if not form.is_valid():
        return _list_page(request, tenant_obj, membership, form, status=400)
    page = keyset_page(
        _deliveries(tenant_obj, form), Delivery, form.cleaned_data["before"], tenant_obj
    )
    if page is None:
        form.add_error("before", "This page cursor is not a delivery of this tenant; start over.")
        return _list_page(request, tenant_obj, membership, form, status=400)
    return _list_page(request, tenant_obj, membership, form, page=page)


def _headers(delivery: Delivery) -> list[tuple[str, str]]:
    headers = delivery.headers if isinstance(delivery.headers, dict) else {}
    return sorted(
        (present.neutralize(name), present.neutralize(value))
        for name, value in headers.items()
        if str(name).lower() not in HIDDEN_HEADERS
    )


def _body_text(delivery: Delivery) -> tuple[str, bool]:
    """The body as indented JSON text, cut at MAX_BODY_CHARS (True when cut); of a delivery
    stored cut (SPEC §5.1), the kept beginning as received."""
    if delivery.body_cut:
        return present.neutralize(delivery.body_head), False
    text = json.dumps(delivery.body, indent=2, ensure_ascii=False, sort_keys=False)
    if len(text) > MAX_BODY_CHARS:
        return present.neutralize(text[:MAX_BODY_CHARS]), True
    return present.neutralize(text), False


@login_required
@require_GET
def delivery_detail(request: HttpRequest, tenant: uuid.UUID, delivery: uuid.UUID) -> HttpResponse:
    tenant_obj, membership = tenant_for(request.user, tenant)
    delivery_obj = delivery_of(tenant_obj, delivery)
    body, body_cut = _body_text(delivery_obj)
    context = {
        "delivery": delivery_obj,
        "outcomes": delivery_obj.outcomes.select_related("job").order_by("position"),
        "headers": _headers(delivery_obj),
        "body": body,
        "body_cut": body_cut,
        "max_body_chars": MAX_BODY_CHARS,
    }
    return tenant_page(request, "jobs/delivery.html", tenant_obj, membership, "deliveries", context)


def _explains() -> Budget:
    return Budget("explain", EXPLAINS_PER_MINUTE, 60)


@login_required
@require_POST
def delivery_explain(request: HttpRequest, tenant: uuid.UUID, delivery: uuid.UUID) -> HttpResponse:
    """Re-run the routing decision for each event of the delivery (reads .mate.yml fresh).

    It asks GitLab with the bot's token, so it is a POST by an operator or owner, at most
    EXPLAINS_PER_MINUTE per user and tenant, within routing's bounds (SPEC §5.4, THREATS T44).
    """
    tenant_obj, membership = tenant_for(request.user, tenant, Role.OPERATOR)
    delivery_obj = delivery_of(tenant_obj, delivery)
    context: dict = {"delivery": delivery_obj, "explanation": None}
    if not _explains().take(pair(str(request.user.pk), str(tenant_obj.uid))):
        context["limit"] = EXPLAINS_PER_MINUTE
        response = tenant_page(
            request, "jobs/explain.html", tenant_obj, membership, "deliveries", context, 429
        )
        response["Retry-After"] = "60"
        return response
    context["explanation"] = explain_delivery(delivery_obj)
    return tenant_page(request, "jobs/explain.html", tenant_obj, membership, "deliveries", context)
